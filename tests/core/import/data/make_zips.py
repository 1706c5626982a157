"""Writes chatgpt_export.zip and claude_export.zip from the JSON fixtures
beside this file (README.md): deflated, dated 2024-01-01, so that the
bytes come out the same each time."""
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, members):
    with zipfile.ZipFile(os.path.join(HERE, name), 'w', zipfile.ZIP_DEFLATED) as z:
        for member, data in members:
            zi = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)


def fixture(name):
    with open(os.path.join(HERE, name), 'rb') as f:
        return f.read()


write('chatgpt_export.zip', [('chat.html', b'<html><body>chats</body></html>'),
                             ('user.json', b'{"id":"user-x"}'),
                             ('conversations.json', fixture('chatgpt_conversations.json'))])
write('claude_export.zip', [('users.json', b'[]'), ('projects.json', b'[]'),
                            ('conversations.json', fixture('claude_conversations.json'))])
