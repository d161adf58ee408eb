"""The bottom layer: base-station model profiles, handset menu trees, and the project's root error."""
