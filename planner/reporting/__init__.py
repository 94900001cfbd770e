"""The HTML finance report."""
