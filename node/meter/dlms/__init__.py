"""Encrypted DLMS/COSEM: link frames, general-glo-ciphering, and DataNotification decoding."""
