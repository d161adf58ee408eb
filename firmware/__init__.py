"""The base station: configuration store (NVM), provisioning, FKS gating, and the FKS application."""
