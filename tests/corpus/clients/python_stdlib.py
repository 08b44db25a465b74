"""One session with Python's own imaplib / poplib / smtplib, debug output on, written the way their documentation and
the usual OAuth2 how-tos do it (XOAUTH2 through `authenticate`/`auth`, POP3 AUTH by hand: poplib has no AUTH).

usage: python python_stdlib.py imaplib|poplib|smtplib   (settings in CORPUS_SESSION, JSON; the lab CA in SSL_CERT_FILE)
Errors are not caught: the traceback a script prints is part of the evidence a user brings.
"""

import base64
import imaplib
import json
import os
import poplib
import smtplib
import ssl
import sys

session = json.loads(os.environ["CORPUS_SESSION"])
host, port, user, secret = session["host"], session["port"], session["user"], session["secret"]
security, mechanism = session["security"], session["mechanism"]
bearer = session["secret_kind"] == "token"
auth_string = f"user={user}\x01auth=Bearer {secret}\x01\x01"
context = ssl.create_default_context()  # trusts SSL_CERT_FILE


def imap() -> None:
    imaplib.Debug = 4
    client = imaplib.IMAP4_SSL(host, port, ssl_context=context) if security == "tls" else imaplib.IMAP4(host, port)
    if security == "starttls":
        client.starttls(context)
    if bearer:
        client.authenticate("XOAUTH2", lambda _challenge: auth_string)
    elif mechanism == "PLAIN":
        client.authenticate("PLAIN", lambda _challenge: f"\0{user}\0{secret}")
    else:
        client.login(user, secret)
    client.select("INBOX", readonly=True)
    client.logout()


def pop() -> None:
    client = poplib.POP3_SSL(host, port, context=context) if security == "tls" else poplib.POP3(host, port)
    client.set_debuglevel(2)
    if security == "starttls":
        client.stls(context)
    if bearer:
        encoded = base64.b64encode(auth_string.encode()).decode()
        if session["sasl_ir"] == "yes":
            reply = client._shortcmd(f"AUTH XOAUTH2 {encoded}")
        else:
            client._shortcmd("AUTH XOAUTH2")
            reply = client._shortcmd(encoded)
        if reply.startswith(b"+ "):  # an error challenge: the SASL exchange needs an empty answer
            client._shortcmd("")
    else:
        client.user(user)
        client.pass_(secret)
    client.stat()
    client.quit()


def smtp() -> None:
    client = smtplib.SMTP_SSL(host, port, context=context) if security == "tls" else smtplib.SMTP(host, port)
    client.set_debuglevel(2)
    client.ehlo()
    if security == "starttls":
        client.starttls(context=context)
        client.ehlo()
    if bearer:
        client.auth("XOAUTH2", lambda challenge=None: auth_string)
    else:
        client.login(user, secret)
    client.mail(session["mail_from"])
    client.rcpt(session["rcpt_to"])
    client.rset()
    client.quit()


{"imaplib": imap, "poplib": pop, "smtplib": smtp}[sys.argv[1]]()
