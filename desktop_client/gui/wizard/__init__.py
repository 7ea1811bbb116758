"""The upload wizard: Connect → Project → Select data → Confirm → Review → Summary."""
