"""DECT side: NWK-layer codec (construct), identities, the base-side DECT endpoint, the handset emulator."""
