"""All file access of geocarbon: readers of vectors, rasters, tables, and atomic writers.

Nothing outside this package opens a file; computations receive arrays and (Geo)DataFrames.
"""
