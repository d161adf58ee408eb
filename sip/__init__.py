"""SIP side (sans-I/O): message codec, transactions, subscriptions, digest auth, as-feature-event bodies."""
