package workspaces

import "context"

// Find looks up a workspace of the caller's tenant by id or path without deciding whether the
// caller may read it (404 only when there is none). For modules whose own rule gives access
// through something inside the workspace — a board the caller is a member of — and which must
// then decide before showing anything; everyone else uses Resolve.
func (s *Service) Find(ctx context.Context, ref string) (Workspace, error) {
	return s.find(ctx, ref)
}
