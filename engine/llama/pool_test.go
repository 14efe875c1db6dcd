package llama

import "testing"

func TestPoolCountsSharedCellsOnce(t *testing.T) {
	p := newPool(10)
	a := p.add(nil, 4)
	if p.free() != 6 || p.shared(a) {
		t.Fatalf("after 4 new cells: free %d, shared %v; want 6, false", p.free(), p.shared(a))
	}
	b := append([]int64(nil), a[:3]...) // another slot takes a 3-token prefix
	p.share(b)
	b = p.add(b, 2)
	if p.free() != 4 || !p.shared(a[:3]) || p.shared(a[3:]) || p.shared(b[3:]) {
		t.Fatalf("after sharing 3 and adding 2: free %d, want 4 with only the prefix shared", p.free())
	}
	p.release(a) // the first slot is cleared: the prefix stays, held by the second
	if p.free() != 5 || p.shared(b) {
		t.Fatalf("after clearing the first slot: free %d, shared %v; want 5, false", p.free(), p.shared(b))
	}
	p.release(b)
	if p.free() != 10 || len(p.refs) != 0 {
		t.Fatalf("after clearing both: free %d with %d cells held, want 10 and none", p.free(), len(p.refs))
	}
}
