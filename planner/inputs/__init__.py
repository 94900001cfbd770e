"""What a run reads: the data contract and its validation, forecast files, scenarios and their what-
ifs, locations (paths and URLs), the M5 import and the sample company."""
