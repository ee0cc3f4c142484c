"""Time: replay each workload's usage on each substrate's placement, step by step."""
