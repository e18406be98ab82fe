"""Services: typed functions that own transactions and raise PmailError."""
