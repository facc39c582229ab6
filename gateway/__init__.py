"""Health-Thing research gateway."""
