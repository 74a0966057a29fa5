package authgear

// Yaegi v0.16.1 calls an interpreted method through a method value: each
// call wraps the method in a reflect function, whose reflect type the
// interpreter builds on first use and keeps in its own type table, without a
// lock (interp/run.go getMethod and genFunctionWrapper, interp/type.go
// refType). It builds that type while loading the package for some methods
// and leaves it to the first call for others, depending on the order in which
// it compiled the method and its calls: the first requests to call such a
// method at once then race on the type table, which the race detector reports
// (the harness's interpreted test) and which could hand a request a
// half-written type. Taking every method's value once, while the package
// initialises and before any request, builds all of them then.
var _ = methodValues()

// methodValues returns the value of every method of the package (a new
// method belongs here; TestEveryMethodIsInMethodValues checks).
func methodValues() []interface{} {
	m := &Middleware{}
	c := &cache{}
	cr := &credentials{}
	mt := &metrics{}
	in := &instance{}
	em := &eventMemory{}
	as := &assertionSettings{}
	s := &signer{}
	return []interface{}{
		m.ServeHTTP, m.refuse,
		c.servedBy, c.sizeReport, c.report, c.stale, c.evictUser, c.retire,
		c.evictedCount, c.len, c.insert, c.remove,
		c.join, c.newCall, c.leave, c.complete,
		c.finish, c.cacheable,
		cr.any, cr.key, cr.cookieHeader,
		mt.observeCall,
		in.logResolver, in.logWebhook, in.logRelay, in.logTo,
		em.admit, em.forgetExpired,
		as.identity,
		s.mint,
	}
}
