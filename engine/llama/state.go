package llama

// seqState is the phase of a sequence in the decode loop, as llama.cpp's server keeps one per slot
// (SLOT_STATE_*). The loop picks what to batch for a sequence by its state alone:
//
//	queued ──assign──▶ prefilling ──last prompt chunk decoded, token sampled──▶ generating
//	                       │                                                      │  ▲
//	                       │                                                      └──┘ token decoded and sampled
//	                       └────────────▶ done ◀── end (EOG, stop string, num_predict, full context,
//	                                                    cancelled request, decode error, unload)
type seqState int

const (
	// stateQueued: submitted by Generate, which holds a free slot for it, and waiting in Runner.incoming
	// for the loop to assign that slot.
	stateQueued seqState = iota
	// statePrefilling: in a slot, with prompt tokens left in pending, evaluated a chunk per step.
	statePrefilling
	// stateGenerating: pending holds the one token sampled last, to evaluate in the next step.
	stateGenerating
	// stateDone: the final chunk is sent and the slot released; the loop drops the sequence.
	stateDone
)
