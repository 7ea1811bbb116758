"""The Confirm details step, as small widgets over ``desktop_client.plan`` (which holds the rules)."""

from desktop_client.gui.wizard.confirm.page import ConfirmPage

__all__ = ["ConfirmPage"]
