"""Domain facts shared by every stage: application folders, SOP classes, transfer syntaxes."""
