"""What the views ask for: small services over the stores, with no Qt and no widgets."""
