"""Fixtures shared by the mail tests. Each group lives in its own module; import it here."""

from helpa.mail.tests.dovecot import dovecot, oauth_provider  # noqa: F401 — real IMAP/POP3
from helpa.mail.tests.smtp_server import smtp_server, starttls_server, tls_files  # noqa: F401 — real SMTP
