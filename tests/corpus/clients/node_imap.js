// One IMAP session with a Node.js IMAP library, its own debug logging on, the way its README shows it.
// usage: node node_imap.js imapflow|node-imap|emailjs-imap-client   (settings in CORPUS_SESSION, JSON)
// The lab CA is trusted through NODE_EXTRA_CA_CERTS (Node's own option for every TLS client).
'use strict';

const session = JSON.parse(process.env.CORPUS_SESSION);
const client = process.argv[2];
const bearer = session.secret_kind === 'token';
const done = code => setTimeout(() => process.exit(code), 200);
setTimeout(() => { console.error('corpus: client timed out'); process.exit(3); }, 15000);

async function imapflow() {
  const { ImapFlow } = require('imapflow');
  const pino = require('pino');
  const flow = new ImapFlow({
    host: session.host, port: session.port, secure: session.security === 'tls',
    doSTARTTLS: session.security === 'starttls' ? true : session.security === 'plain' ? false : undefined,
    auth: bearer ? { user: session.user, accessToken: session.secret } : { user: session.user, pass: session.secret },
    logger: pino({ level: 'debug' }),
  });
  flow.on('error', err => console.error('imapflow error:', err.message));
  try {
    await flow.connect();
    await flow.mailboxOpen('INBOX', { readOnly: true });
    await flow.logout();
    done(0);
  } catch (err) {
    console.error('imapflow failed:', err.message, err.responseText || '');
    done(1);
  }
}

function nodeImap() {
  const Imap = require('imap');
  const imap = new Imap({
    user: session.user, host: session.host, port: session.port, tls: session.security === 'tls',
    autotls: session.security === 'starttls' ? 'required' : 'never',
    ...(bearer ? { xoauth2: Buffer.from(`user=${session.user}\x01auth=Bearer ${session.secret}\x01\x01`).toString('base64') }
               : { password: session.secret }),
    debug: console.log,
  });
  imap.once('ready', () => imap.openBox('INBOX', true, err => {
    if (err) console.error('node-imap openBox error:', err.message);
    imap.end();
  }));
  imap.once('error', err => { console.error('node-imap error:', err.message, err.source || ''); done(1); });
  imap.once('end', () => done(0));
  imap.connect();
}

async function emailjs() {
  const ImapClient = require('emailjs-imap-client').default;
  const auth = bearer ? { user: session.user, xoauth2: session.secret } : { user: session.user, pass: session.secret };
  const imap = new ImapClient(session.host, session.port, {
    auth, useSecureTransport: session.security === 'tls', requireTLS: session.security === 'starttls',
    ignoreTLS: session.security === 'plain', logLevel: 0 /* LOG_LEVEL_ALL: the protocol lines at DEBUG */,
  });
  imap.onerror = err => { console.error('emailjs-imap-client error:', err.message); done(1); };
  try {
    await imap.connect();
    await imap.selectMailbox('INBOX', { readOnly: true });
    await imap.close();
    done(0);
  } catch (err) {
    console.error('emailjs-imap-client failed:', err.message);
    done(1);
  }
}

({ imapflow, 'node-imap': nodeImap, 'emailjs-imap-client': emailjs })[client]();
