"""Block-wise reconstruction (Genie-M)."""
