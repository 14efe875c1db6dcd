package main

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
)

// vocabulary is plain English the generated models' tokenizers split into about 1.3 tokens a word.
var vocabulary = strings.Fields(`the a of and to in is that it for on with as was by at from this be are or
an have not but had they which one you were all we there can their has more when will would who so been
some what about out if up into them time only other new could these two may first then do any like my now
over such our man me even most made after also did many before must through back years where much your way
well down should because each just those people how too little state good very make world still own see men
work long get here between both life being under never day same another know while last might us great old
year off come since against go came right used take three river mountain garden kitchen window letter market
engine weather morning evening question answer story music simple quiet bright careful`)

// text returns n words drawn from vocabulary with a generator seeded by seed, as sentences.
func text(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var b strings.Builder
	capital := true
	for i := range n {
		w := vocabulary[r.IntN(len(vocabulary))]
		if capital {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
		capital = i%12 == 11 || i == n-1
		if capital {
			b.WriteString(". ")
		} else {
			b.WriteByte(' ')
		}
	}
	return strings.TrimSpace(b.String())
}

// uniquePrompt is n words that begin with a number unique to (workload, rep, client), so no server can
// answer any part of it from a prompt cache: prompts that began with a shared tag ("[prompt 0-0]",
// "[prompt 1-0]") let a prefix cache skip the tag's tokens.
func uniquePrompt(workload string, rep, client, n int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d/%d", workload, rep, client)
	sum := h.Sum64()
	return fmt.Sprintf("%d %s", 100_000+sum%900_000, text(sum, n))
}
