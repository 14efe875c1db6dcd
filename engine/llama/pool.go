package llama

// pool counts the KV cells that all slots share. The context's KV cache is llama.cpp's unified one: one
// pool of numCtx cells, where one sequence may use every cell and concurrent sequences share them, instead
// of a stream of numCtx cells reserved for each slot. llama.cpp does not report how many cells are in use,
// so the decode loop counts them itself and keeps every step within the pool (see room.go) rather than
// finding a full cache in Decode.
//
// A cell is named by an id given when its token is first evaluated, and each slot lists the ids of its
// tokens' cells. Copying a prefix from one slot to another shares the cells (llama.cpp's seq_cp in a
// unified cache only adds the sequence id to them), so a cell is free again only when no slot holds it.
type pool struct {
	size int
	used int
	next int64
	refs map[int64]int32
}

func newPool(size int) *pool { return &pool{size: size, refs: map[int64]int32{}} }

// free is the number of cells no slot holds.
func (p *pool) free() int { return p.size - p.used }

// add takes n new cells and appends their ids to cells.
func (p *pool) add(cells []int64, n int) []int64 {
	for range n {
		p.next++
		p.refs[p.next] = 1
		cells = append(cells, p.next)
	}
	p.used += n
	return cells
}

// share counts one more holder of each of cells.
func (p *pool) share(cells []int64) {
	for _, c := range cells {
		p.refs[c]++
	}
}

// release drops one holder of each of cells; a cell nobody holds is free.
func (p *pool) release(cells []int64) {
	for _, c := range cells {
		if n := p.refs[c] - 1; n > 0 {
			p.refs[c] = n
		} else {
			delete(p.refs, c)
			p.used--
		}
	}
}

// shared reports whether another slot holds any of cells too.
func (p *pool) shared(cells []int64) bool {
	for _, c := range cells {
		if p.refs[c] > 1 {
			return true
		}
	}
	return false
}
