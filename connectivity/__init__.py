"""Connectivity: reference areas, indicators, the gap score and map building."""
