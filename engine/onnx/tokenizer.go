package onnx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	tok "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/decoder"
	"github.com/sugarme/tokenizer/model/wordpiece"
	"github.com/sugarme/tokenizer/normalizer"
	"github.com/sugarme/tokenizer/pretokenizer"
	"github.com/sugarme/tokenizer/pretrained"
	"github.com/sugarme/tokenizer/processor"
	"golang.org/x/text/unicode/norm"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/batch"
)

// tokenizer turns text into the token ids a BERT-style encoder reads. It wraps github.com/sugarme/tokenizer,
// which reads Hugging Face's tokenizer.json (or builds BERT's WordPiece pipeline from a vocab.txt), and adds
// the two things the model runner needs on top: accent stripping that also handles precomposed letters
// (the library's normaliser only drops combining marks that are already separate), and truncation to the
// model's length with a choice to refuse instead. It is safe for concurrent use: encoding only reads the
// library's tables.
type tokenizer struct {
	tk *tok.Tokenizer
	// stripAccents decomposes the text (NFD) and drops its combining marks before the library sees it.
	stripAccents bool
	// maxLength is the most tokens a sequence may hold, special tokens included.
	maxLength int
}

// loadTokenizer reads tokenizer.json, or else vocab.txt with tokenizer_config.json's casing.
func loadTokenizer(f files, maxLength int) (*tokenizer, error) {
	if path, ok := f["tokenizer.json"]; ok {
		return tokenizerFromJSON(path, maxLength)
	}
	if path, ok := f["vocab.txt"]; ok {
		var tc struct {
			DoLowerCase  *bool `json:"do_lower_case"`
			StripAccents *bool `json:"strip_accents"`
		}
		if _, err := f.ReadJSON("tokenizer_config.json", &tc); err != nil {
			return nil, err
		}
		lower := tc.DoLowerCase == nil || *tc.DoLowerCase
		strip := lower
		if tc.StripAccents != nil {
			strip = *tc.StripAccents
		}
		return tokenizerFromVocab(path, lower, strip, maxLength)
	}
	return nil, errors.New("the model has no tokenizer: add tokenizer.json (or a WordPiece vocab.txt) to its folder")
}

// tokenizerFromJSON reads a Hugging Face tokenizer.json. The library panics on some malformed files and
// expects booleans where Hugging Face writes null, so the document is checked and patched first and any
// panic becomes an error.
func tokenizerFromJSON(path string, maxLength int) (t *tokenizer, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("tokenizer.json is not valid JSON: %w", err)
	}
	if _, ok := doc["model"].(map[string]any); !ok {
		return nil, errors.New("tokenizer.json has no model section")
	}
	strip := false
	if n, ok := doc["normalizer"].(map[string]any); ok {
		strip = patchNormalizer(n)
	}
	// Truncation and padding are done here, per batch, not by the library.
	doc["truncation"], doc["padding"] = nil, nil
	patched, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("tokenizer.json could not be read: %v", r)
		}
	}()
	tk, err := pretrained.FromReader(bytes.NewReader(patched))
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json could not be read: %w", err)
	}
	return &tokenizer{tk: tk, stripAccents: strip, maxLength: maxLength}, nil
}

// patchNormalizer reports whether a normalizer strips accents, and turns that job off in the library's
// copy (tokenizer does it itself). Hugging Face's BertNormalizer strips accents when strip_accents is true,
// or null with lowercase on.
func patchNormalizer(n map[string]any) bool {
	switch n["type"] {
	case "BertNormalizer":
		lower, _ := n["lowercase"].(bool)
		strip, isBool := n["strip_accents"].(bool)
		if !isBool {
			strip = lower
		}
		n["strip_accents"] = false
		return strip
	case "StripAccents":
		// Keep the library's entry (a no-op once marks are gone) so a Sequence stays well formed.
		return true
	case "Sequence":
		strip := false
		items, _ := n["normalizers"].([]any)
		for _, item := range items {
			if m, ok := item.(map[string]any); ok && patchNormalizer(m) {
				strip = true
			}
		}
		return strip
	}
	return false
}

// tokenizerFromVocab builds BERT's pipeline over a WordPiece vocab.txt: BERT normalisation, whitespace and
// punctuation splitting, greedy longest-match word pieces, and [CLS] A [SEP] (B [SEP]).
func tokenizerFromVocab(path string, lowercase, strip bool, maxLength int) (*tokenizer, error) {
	model, err := wordpiece.NewWordPieceFromFile(path, "[UNK]")
	if err != nil {
		return nil, fmt.Errorf("vocab.txt could not be read: %w", err)
	}
	tk := tok.NewTokenizer(model)
	tk.WithNormalizer(normalizer.NewBertNormalizer(true, lowercase, true, false))
	tk.WithPreTokenizer(pretokenizer.NewBertPreTokenizer())
	var special [2]processor.PostToken
	for i, name := range []string{"[SEP]", "[CLS]"} {
		id, ok := tk.TokenToId(name)
		if !ok {
			return nil, fmt.Errorf("vocab.txt has no %s token", name)
		}
		special[i] = processor.PostToken{Id: id, Value: name}
	}
	tk.WithPostProcessor(processor.NewBertProcessing(special[0], special[1]))
	var added []tok.AddedToken
	for _, name := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		if _, ok := tk.TokenToId(name); ok {
			added = append(added, tok.NewAddedToken(name, true))
		}
	}
	tk.AddSpecialTokens(added)
	tk.WithDecoder(decoder.DefaultWordpieceDecoder())
	return &tokenizer{tk: tk, stripAccents: strip, maxLength: maxLength}, nil
}

// encode tokenizes one input into token and segment ids (every position real text, so the attention
// mask is all ones). An input longer than maxLength is cut to fit when truncate is set and is an
// engine.ErrInputTooLong otherwise.
func (t *tokenizer) encode(text string, truncate bool) (batch.Seq, error) {
	return t.encodePair(text, nil, truncate)
}

// encodePair tokenizes an input, or a (first, second) pair when second is not nil, the way a
// cross-encoder reads a query and a document. Over maxLength, tokens come off the longer of the two
// sequences first (Hugging Face's longest_first).
func (t *tokenizer) encodePair(first string, second *string, truncate bool) (enc batch.Seq, err error) {
	defer func() {
		if r := recover(); r != nil {
			enc, err = batch.Seq{}, fmt.Errorf("tokenizing the input failed: %v", r)
		}
	}()
	a, err := t.sequence(first, 0)
	if err != nil {
		return batch.Seq{}, err
	}
	var b *tok.Encoding
	if second != nil {
		if b, err = t.sequence(*second, 1); err != nil {
			return batch.Seq{}, err
		}
	}
	added := 0
	if pp := t.tk.GetPostProcessor(); pp != nil {
		added = pp.AddedTokens(b != nil)
	}
	budget := t.maxLength - added
	na, nb := a.Len(), 0
	if b != nil {
		nb = b.Len()
	}
	if na+nb > budget {
		if !truncate {
			return batch.Seq{}, engine.ErrInputTooLong
		}
		if b == nil && budget < 1 {
			return batch.Seq{}, engine.ErrTruncatedTooLong
		}
		if budget < 2 {
			return batch.Seq{}, engine.ErrInputTooLong
		}
		for na+nb > budget {
			if na > nb {
				na--
			} else {
				nb--
			}
		}
		cut(a, na)
		if b != nil {
			cut(b, nb)
		}
	}
	full := t.tk.PostProcess(a, b, true)
	enc = batch.Seq{IDs: make([]int64, len(full.Ids)), TypeIDs: make([]int64, len(full.Ids))}
	for i, id := range full.Ids {
		enc.IDs[i] = int64(id)
		if i < len(full.TypeIds) {
			enc.TypeIDs[i] = int64(full.TypeIds[i])
		}
	}
	return enc, nil
}

// prefixBytesPerToken bounds the text tokenized for a long input: sequence first tries the words in the
// first maxLength × prefixBytesPerToken bytes, which almost always yield more tokens than fit.
const prefixBytesPerToken = 32

// sequence tokenizes one text without special tokens. A text far longer than the model reads is tokenized
// only as far as needed: the words before a whitespace boundary, when they already give maxLength tokens
// (the library splits words at whitespace first, so those are exactly the full text's first tokens).
func (t *tokenizer) sequence(text string, typeID int) (*tok.Encoding, error) {
	if limit := t.maxLength * prefixBytesPerToken; len(text) > limit {
		if i := strings.LastIndexAny(text[:limit], " \t\n\r"); i > 0 {
			if e, err := t.words(text[:i], typeID); err == nil && e.Len() >= t.maxLength {
				return e, nil
			}
		}
	}
	return t.words(text, typeID)
}

// words tokenizes text without special tokens.
func (t *tokenizer) words(text string, typeID int) (*tok.Encoding, error) {
	if t.stripAccents {
		text = stripAccents(text)
	}
	return t.tk.EncodeSingleSequence(tok.NewInputSequence(text), typeID, tok.Byte)
}

// cut keeps the first n tokens of e, dropping what overflows (the library's own Truncate also builds
// overflow windows, which is wasted work here).
func cut(e *tok.Encoding, n int) {
	if n >= len(e.Ids) {
		return
	}
	e.Ids = e.Ids[:n]
	e.TypeIds = e.TypeIds[:min(n, len(e.TypeIds))]
	e.Tokens = e.Tokens[:min(n, len(e.Tokens))]
	e.Offsets = e.Offsets[:min(n, len(e.Offsets))]
	e.SpecialTokenMask = e.SpecialTokenMask[:min(n, len(e.SpecialTokenMask))]
	e.AttentionMask = e.AttentionMask[:min(n, len(e.AttentionMask))]
	e.Words = e.Words[:min(n, len(e.Words))]
	e.Overflowing = nil
}

// stripAccents returns text with its accents removed ("Café" becomes "Cafe"): decompose (NFD), then
// drop the nonspacing marks, as BERT's basic tokenizer does.
func stripAccents(text string) string {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return text
	}
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, norm.NFD.String(text))
}
