// Package decode holds what the decode loops of the two generative engines, engine/llama (llama.cpp) and
// engine/ollamaengine (Ollama's Go engine), share: the Admission of Generate's sequences into idle slots,
// a sequence's phase, the limits a GenerateRequest puts on it, its metrics for the final chunk, and the
// log probabilities of the tokens it samples. Each engine keeps its own batching, cache and sampler; the
// output rules are engine/stream's.
package decode

// State is the phase of a sequence in a decode loop, as llama.cpp's server keeps one per slot
// (SLOT_STATE_*). A loop picks what to batch for a sequence by its state alone:
//
//	Queued ──slot assigned──▶ Prefilling ──last prompt chunk evaluated, token sampled──▶ Generating
//	                              │   ▲                                                     │  ▲
//	                              │   └── context shift that must evaluate inputs again ────┤  │ token evaluated
//	                              │       (engine/ollamaengine's caches that cannot shift)  └──┘ and sampled
//	                              └─────────▶ Done ◀── end (end of generation, stop string, num_predict,
//	                                                   full context, cancelled request, engine error, unload)
type State int

const (
	// Queued: submitted by Generate, which holds a free slot for it, and waiting for the loop to give it
	// that slot.
	Queued State = iota
	// Prefilling: in a slot, with prompt inputs left to evaluate, a chunk per step.
	Prefilling
	// Generating: the one token sampled last waits to be evaluated in the next step.
	Generating
	// Done: the final chunk is sent and the slot released; the loop drops the sequence.
	Done
)
