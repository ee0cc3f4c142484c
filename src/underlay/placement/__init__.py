"""Placement: pods on nodes and nodes on hosts, with reasons for what does not fit."""
