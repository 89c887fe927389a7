#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# embed_cl.py IN OUT NAME: OUT is a C header defining NAME, IN's text as a string.
import sys

src, out, name = sys.argv[1:4]
with open(src, encoding='utf-8') as f:
    text = f.read()
with open(out, 'w', encoding='utf-8') as f:
    f.write('/* Generated from %s by embed_cl.py. */\n' % src.split('/')[-1])
    f.write('static const char %s[] =\n' % name)
    for line in text.splitlines():
        f.write('\t"%s\\n"\n' % line.replace('\\', '\\\\').replace('"', '\\"'))
    f.write(';\n')
