import time
def test_probe(mailbox):
    c = mailbox.connect()
    c.select_folder("INBOX", readonly=True)
    c.noop()
    c.search(["UID", "1:*"])
    mailbox.append("INBOX", b"From: a@b\r\nSubject: x\r\n\r\nhi\r\n")
    c.idle()
    t0 = time.monotonic()
    got = []
    while time.monotonic() - t0 < 45 and not got:
        got = c.idle_check(timeout=1)
    print("PROBE first idle response after %.1fs: %r" % (time.monotonic() - t0, got))
    c.idle_done()
