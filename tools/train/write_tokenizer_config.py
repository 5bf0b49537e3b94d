#!/usr/bin/env python3
"""Write tokenizer_config.json (special tokens + RepoPot question/answer template)."""
import json, sys, os
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import SPECIALS

TEMPLATE_DOC = {
    'file': '<|file|> {path}\\n{text}\\n',
    'question': '<|question|> {question}\\n<|answer|>',
    'bare_answer': ' {answer}<|end|>\\n',
    'trace_answer': '<|trace|> {trace}<|final|> {answer}<|end|>\\n',
    'bos': '<|endoftext|> (once, at the very start of every prompt; also separates packed training samples)',
    'answer_extraction': 'text after <|final|> if present, else the whole answer; stop at <|end|>',
}


def main(out_dir):
    tok = json.load(open(os.path.join(out_dir, 'tokenizer.json'), encoding='utf-8'))
    cfg = {
        'tokenizer_class': 'PreTrainedTokenizerFast',
        'model_max_length': 2048,
        'bos_token': '<|endoftext|>',
        'eos_token': '<|endoftext|>',
        'unk_token': None,
        'pad_token': '<|pad|>',
        'add_bos_token': False,
        'add_eos_token': False,
        'clean_up_tokenization_spaces': False,
        'additional_special_tokens': SPECIALS[1:],
        'added_tokens_decoder': {str(t['id']): {k: t[k] for k in ('content', 'lstrip', 'normalized', 'rstrip', 'single_word', 'special')}
                                 for t in tok['added_tokens']},
        'repopot_template': TEMPLATE_DOC,
        # Jinja chat template over messages with role "file" (path, content), "question", "answer" (optional trace)
        'chat_template': (
            "{{ bos_token }}{% for m in messages %}"
            "{% if m['role'] == 'file' %}<|file|> {{ m['path'] }}\n{{ m['content'] }}\n"
            "{% elif m['role'] == 'question' %}<|question|> {{ m['content'] }}\n<|answer|>"
            "{% elif m['role'] == 'answer' %}{% if m['trace'] %}<|trace|> {{ m['trace'] }}<|final|>{% endif %} {{ m['content'] }}<|end|>\n"
            "{% endif %}{% endfor %}"),
    }
    json.dump(cfg, open(os.path.join(out_dir, 'tokenizer_config.json'), 'w'), indent=1, ensure_ascii=False)
    json.dump({'bos_token': '<|endoftext|>', 'eos_token': '<|endoftext|>', 'pad_token': '<|pad|>',
               'additional_special_tokens': SPECIALS[1:]},
              open(os.path.join(out_dir, 'special_tokens_map.json'), 'w'), indent=1)


if __name__ == '__main__':
    main(sys.argv[1])
