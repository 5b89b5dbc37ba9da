"""Ticket events that cause outgoing mail (subscribed in MailConfig.ready)."""
