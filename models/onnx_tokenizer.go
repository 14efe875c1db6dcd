package models

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// onnxBertSpecials are BERT's special tokens in the order Hugging Face lists them as added tokens.
var onnxBertSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// onnxVocabTxt is vocab.txt: one token a line, line number = token id.
func onnxVocabTxt(vocab []string) []byte {
	return []byte(strings.Join(vocab, "\n") + "\n")
}

// onnxTokenizerJSON is the layout of a Hugging Face tokenizers file (tokenizer.json), as written for
// bert-base-uncased.
type onnxTokenizerJSON struct {
	Version       string              `json:"version"`
	Truncation    any                 `json:"truncation"`
	Padding       any                 `json:"padding"`
	AddedTokens   []onnxAddedToken    `json:"added_tokens"`
	Normalizer    onnxBertNormalizer  `json:"normalizer"`
	PreTokenizer  map[string]string   `json:"pre_tokenizer"`
	PostProcessor onnxTemplate        `json:"post_processor"`
	Decoder       onnxWordPieceDecode `json:"decoder"`
	Model         onnxWordPieceModel  `json:"model"`
}

type onnxAddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// onnxBertNormalizer spells strip_accents out as true, which is what bert-base-uncased's null means when
// lowercase is set; some readers (github.com/sugarme/tokenizer) expect a boolean there.
type onnxBertNormalizer struct {
	Type               string `json:"type"`
	CleanText          bool   `json:"clean_text"`
	HandleChineseChars bool   `json:"handle_chinese_chars"`
	StripAccents       bool   `json:"strip_accents"`
	Lowercase          bool   `json:"lowercase"`
}

type onnxTemplate struct {
	Type          string                      `json:"type"`
	Single        []onnxTemplatePiece         `json:"single"`
	Pair          []onnxTemplatePiece         `json:"pair"`
	SpecialTokens map[string]onnxSpecialToken `json:"special_tokens"`
}

type onnxTemplatePiece struct {
	SpecialToken *onnxPieceRef `json:"SpecialToken,omitempty"`
	Sequence     *onnxPieceRef `json:"Sequence,omitempty"`
}

type onnxPieceRef struct {
	ID     string `json:"id"`
	TypeID int    `json:"type_id"`
}

type onnxSpecialToken struct {
	ID     string   `json:"id"`
	IDs    []int    `json:"ids"`
	Tokens []string `json:"tokens"`
}

type onnxWordPieceDecode struct {
	Type    string `json:"type"`
	Prefix  string `json:"prefix"`
	Cleanup bool   `json:"cleanup"`
}

type onnxWordPieceModel struct {
	Type                    string        `json:"type"`
	UnkToken                string        `json:"unk_token"`
	ContinuingSubwordPrefix string        `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    int           `json:"max_input_chars_per_word"`
	Vocab                   onnxVocabJSON `json:"vocab"`
}

// onnxVocabJSON marshals as a {token: id} object in id order, as Hugging Face writes it (a Go map would
// come out sorted by token).
type onnxVocabJSON []string

// MarshalJSON writes the vocabulary as an object in id order.
func (v onnxVocabJSON) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for id, tok := range v {
		if id > 0 {
			buf.WriteByte(',')
		}
		key, err := json.Marshal(tok)
		if err != nil {
			return nil, err
		}
		buf.Write(key)
		buf.WriteByte(':')
		buf.WriteString(strconv.Itoa(id))
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// onnxWordPieceTokenizer describes bert-base-uncased's tokenizer over vocab: BERT normalisation
// (lowercase, strip accents, space out CJK), split on whitespace and punctuation, greedy longest-match
// WordPiece with "##" continuations, and [CLS] A [SEP] (B [SEP]) around the result.
func onnxWordPieceTokenizer(vocab []string) onnxTokenizerJSON {
	ids := make(map[string]int, len(vocab))
	for i, t := range vocab {
		ids[t] = i
	}
	var added []onnxAddedToken
	for _, s := range onnxBertSpecials {
		added = append(added, onnxAddedToken{ID: ids[s], Content: s, Special: true})
	}
	special := func(tok string, typeID int) onnxTemplatePiece {
		return onnxTemplatePiece{SpecialToken: &onnxPieceRef{ID: tok, TypeID: typeID}}
	}
	sequence := func(id string, typeID int) onnxTemplatePiece {
		return onnxTemplatePiece{Sequence: &onnxPieceRef{ID: id, TypeID: typeID}}
	}
	return onnxTokenizerJSON{
		Version:     "1.0",
		AddedTokens: added,
		Normalizer: onnxBertNormalizer{
			Type: "BertNormalizer", CleanText: true, HandleChineseChars: true, StripAccents: true, Lowercase: true,
		},
		PreTokenizer: map[string]string{"type": "BertPreTokenizer"},
		PostProcessor: onnxTemplate{
			Type:   "TemplateProcessing",
			Single: []onnxTemplatePiece{special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)},
			Pair: []onnxTemplatePiece{
				special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1), special("[SEP]", 1),
			},
			SpecialTokens: map[string]onnxSpecialToken{
				"[CLS]": {ID: "[CLS]", IDs: []int{ids["[CLS]"]}, Tokens: []string{"[CLS]"}},
				"[SEP]": {ID: "[SEP]", IDs: []int{ids["[SEP]"]}, Tokens: []string{"[SEP]"}},
			},
		},
		Decoder: onnxWordPieceDecode{Type: "WordPiece", Prefix: "##", Cleanup: true},
		Model: onnxWordPieceModel{
			Type:                    "WordPiece",
			UnkToken:                "[UNK]",
			ContinuingSubwordPrefix: "##",
			MaxInputCharsPerWord:    100,
			Vocab:                   onnxVocabJSON(vocab),
		},
	}
}

// onnxBertTokenizerConfig is tokenizer_config.json for transformers' BertTokenizer (uncased).
func onnxBertTokenizerConfig(maxLength int) map[string]any {
	return map[string]any{
		"tokenizer_class":              "BertTokenizer",
		"do_lower_case":                true,
		"do_basic_tokenize":            true,
		"tokenize_chinese_chars":       true,
		"strip_accents":                nil,
		"model_max_length":             maxLength,
		"clean_up_tokenization_spaces": true,
		"pad_token":                    "[PAD]",
		"unk_token":                    "[UNK]",
		"cls_token":                    "[CLS]",
		"sep_token":                    "[SEP]",
		"mask_token":                   "[MASK]",
	}
}

// onnxSpecialTokensMap is special_tokens_map.json.
func onnxSpecialTokensMap() map[string]string {
	return map[string]string{
		"pad_token":  "[PAD]",
		"unk_token":  "[UNK]",
		"cls_token":  "[CLS]",
		"sep_token":  "[SEP]",
		"mask_token": "[MASK]",
	}
}
