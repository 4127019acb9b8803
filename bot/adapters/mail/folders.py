"""Locate special folders (Sent, Drafts, Junk) on an IMAP server.

Order: the folder flagged with the SPECIAL-USE attribute (RFC 6154) wins; otherwise a folder with a
well-known name, English first, then localized names (imapclient decodes modified UTF-7, so names
such as ``已发送`` arrive as ``str``). Names are compared case-insensitively, on the full name and
on the last hierarchy level (``INBOX.Sent``, ``[Gmail]/Sent Mail``).

Example::

    >>> find_folder(client, "sent")
    'Sent'
    >>> pick_folder([((b"\\\\HasNoChildren",), b"/", "已发送")], "sent")
    '已发送'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

SPECIAL_USE_FLAGS: dict[str, bytes] = {
    "sent": b"\\Sent",
    "drafts": b"\\Drafts",
    "junk": b"\\Junk",
}

KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    "sent": (
        "Sent",
        "Sent Items",
        "Sent Messages",
        "Sent Mail",
        "[Gmail]/Sent Mail",
        "[Google Mail]/Sent Mail",
        "已发送",
        "已發送",
        "已发邮件",
        "已发送邮件",
        "已傳送郵件",
        "Gesendete Elemente",
        "Gesendet",
        "Gesendete Objekte",
        "Elementos enviados",
        "Enviados",
        "Itens Enviados",
        "Envoyés",
        "Éléments envoyés",
        "Messages envoyés",
        "Posta inviata",
        "Inviati",
        "Verzonden items",
        "Verzonden",
        "Отправленные",
        "送信済み",
        "送信済みアイテム",
        "보낸 편지함",
        "Terkirim",
        "Đã gửi",
        "Gönderilmiş Öğeler",
        "Wysłane",
        "寄件備份",
        "已傳送的郵件",
        "Skickat",
        "Skickade objekt",
        "Sendt",
        "Lähetetyt",
        "Odeslaná pošta",
        "Απεσταλμένα",
        "البريد المرسل",
        "Item Terkirim",
        "Thư đã gửi",
    ),
    "drafts": (
        "Drafts",
        "Draft",
        "[Gmail]/Drafts",
        "[Google Mail]/Drafts",
        "草稿箱",
        "草稿",
        "草稿夾",
        "Entwürfe",
        "Borradores",
        "Rascunhos",
        "Brouillons",
        "Bozze",
        "Concepten",
        "Черновики",
        "下書き",
        "임시 보관함",
        "Draf",
        "Thư nháp",
        "Taslaklar",
        "Kopie robocze",
        "草稿夹",
        "Brouillon",
        "Szkice",
        "Utkast",
        "Kladder",
        "Luonnokset",
        "Koncepty",
        "Πρόχειρα",
        "المسودات",
    ),
    "junk": (
        "Junk",
        "Spam",
        "Junk E-mail",
        "Junk Email",
        "Junk Mail",
        "Bulk Mail",
        "[Gmail]/Spam",
        "[Google Mail]/Spam",
        "垃圾邮件",
        "垃圾郵件",
        "垃圾箱",
        "Junk-E-Mail",
        "Correo no deseado",
        "Courrier indésirable",
        "Indésirables",
        "Posta indesiderata",
        "Ongewenste e-mail",
        "Спам",
        "迷惑メール",
        "스팸메일함",
        "Lixo Eletrônico",
        "垃圾信件",
        "Wiadomości-śmieci",
        "Skräppost",
        "Uønsket e-post",
        "Roskaposti",
        "Nevyžádaná pošta",
        "Ανεπιθύμητα",
        "البريد العشوائي",
        "Thư rác",
    ),
}

FolderEntry = tuple[Sequence[Any], Any, str]  # (flags, delimiter, name) as imapclient.list_folders returns


class FolderLister(Protocol):
    def list_folders(self, directory: str = "", pattern: str = "*") -> list[Any]: ...


def _norm_flag(flag: Any) -> bytes:
    raw = flag if isinstance(flag, bytes) else str(flag).encode()
    return raw.lower()


def _leaf(name: str, delimiter: Any) -> str:
    delim = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
    if delim and delim in name:
        return name.rsplit(delim, 1)[1]
    return name


def pick_folder(folders: Iterable[FolderEntry], role: str, prefer: Sequence[str] = ()) -> str | None:
    """Choose the folder for ``role`` ("sent", "drafts", "junk") from a LIST result.

    ``prefer``: names tried before the built-in list (a provider preset's known names); a folder
    flagged with the SPECIAL-USE attribute still wins over every name.
    """
    role = role.lower()
    if role not in SPECIAL_USE_FLAGS:
        raise ValueError(f"unknown folder role {role!r}")
    entries = [(tuple(flags), delim, name) for flags, delim, name in folders if isinstance(name, str)]
    wanted = SPECIAL_USE_FLAGS[role].lower()
    for flags, _delim, name in entries:
        if wanted in {_norm_flag(f) for f in flags}:
            return name
    for known in (*prefer, *KNOWN_NAMES[role]):
        key = known.casefold()
        for flags, delim, name in entries:
            if b"\\noselect" in {_norm_flag(f) for f in flags}:
                continue
            if name.casefold() == key or _leaf(name, delim).casefold() == key:
                return name
    return None


def find_folder(client: FolderLister, role: str, prefer: Sequence[str] = ()) -> str | None:
    """The server's folder for ``role`` ("sent", "drafts", "junk"), or None when there is none.

    One LIST round trip; SPECIAL-USE attributes first, then ``prefer``, then known (localized) names.
    """
    return pick_folder(client.list_folders(), role, prefer)


def resolve_folder(folders: Iterable[FolderEntry], wanted: str, prefer: Sequence[str] = ()) -> str | None:
    """A configured folder: a role keyword (``junk``, ``sent``, ``drafts``) or a literal name.

    A literal name is returned as the server spells it (case-insensitive match), or None if absent.

    >>> resolve_folder([((b"\\Junk",), b"/", "垃圾邮件")], "junk")
    '垃圾邮件'
    """
    entries = list(folders)
    if wanted.lower() in SPECIAL_USE_FLAGS and wanted == wanted.lower():
        return pick_folder(entries, wanted, prefer)
    for _flags, _delim, name in entries:
        if isinstance(name, str) and name.casefold() == wanted.casefold():
            return name
    return None
