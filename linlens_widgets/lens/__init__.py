"""The effective-weight engine: exact W_eff(x), b_eff(x) and activation patterns (torch only)."""
