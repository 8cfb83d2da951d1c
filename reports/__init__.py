"""The weekly situation report (issue 20): a snapshot of the registry at a cut-off,
drafted into key figures and tables, signed off by staff, published or kept internal."""
