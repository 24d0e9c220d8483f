package workflows

import (
	"errors"
	"sort"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

var errNotFound = errors.New("workflow not found")

// store is the workflows' SQL, always through the tenant-scoped transaction. Write statements
// take an owner: when not nil it is part of the statement's predicate, so a caller that is no
// admin changes only their own rows even if the rule above was bypassed.
type store struct{}

func (store) get(tx *gorm.DB, id uuid.UUID) (Workflow, error) {
	var w Workflow
	err := tx.Where("id = ?", id).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return w, errNotFound
	}
	return w, err
}

func (store) insert(tx *gorm.DB, w *Workflow, tags []string) error {
	if err := tx.Create(w).Error; err != nil {
		return err
	}
	return insertTags(tx, w.ID, tags)
}

func insertTags(tx *gorm.DB, id uuid.UUID, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rows := make([]Tag, len(tags))
	for i, t := range tags {
		rows[i] = Tag{WorkflowID: id, Tag: t}
	}
	return tx.Create(&rows).Error
}

// update changes the workflow's columns; false when no row matched (none, or not the owner's).
func (store) update(tx *gorm.DB, id uuid.UUID, owner *uuid.UUID, fields map[string]any) (bool, error) {
	q := tx.Model(&Workflow{}).Where("id = ?", id)
	if owner != nil {
		q = q.Where("owner_id = ?", *owner)
	}
	res := q.Updates(fields)
	return res.RowsAffected > 0, res.Error
}

// delete removes the workflow (tags and thumbnail go with it by foreign key).
func (store) delete(tx *gorm.DB, id uuid.UUID, owner *uuid.UUID) (bool, error) {
	q := tx.Where("id = ?", id)
	if owner != nil {
		q = q.Where("owner_id = ?", *owner)
	}
	res := q.Delete(&Workflow{})
	return res.RowsAffected > 0, res.Error
}

// setTags replaces the tags; call it only after a guarded update of the same workflow matched.
func (store) setTags(tx *gorm.DB, id uuid.UUID, tags []string) error {
	if err := tx.Where("workflow_id = ?", id).Delete(&Tag{}).Error; err != nil {
		return err
	}
	return insertTags(tx, id, tags)
}

// putThumbnail replaces the thumbnail; call it only after a guarded update matched.
func (store) putThumbnail(tx *gorm.DB, th Thumbnail) error {
	if err := tx.Where("workflow_id = ?", th.WorkflowID).Delete(&Thumbnail{}).Error; err != nil {
		return err
	}
	return tx.Create(&th).Error
}

func (store) thumbnail(tx *gorm.DB, id uuid.UUID) (Thumbnail, error) {
	var th Thumbnail
	err := tx.Where("workflow_id = ?", id).Take(&th).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return th, errNotFound
	}
	return th, err
}

// tagsOf returns the tags of the workflows, each list sorted.
func (store) tagsOf(tx *gorm.DB, ids []uuid.UUID) (map[uuid.UUID][]string, error) {
	out := make(map[uuid.UUID][]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Tag
	if err := tx.Where("workflow_id IN ?", ids).Order("workflow_id, tag").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.WorkflowID] = append(out[r.WorkflowID], r.Tag)
	}
	return out, nil
}

// sight is how the caller sees the workflows of one workspace.
type sight struct {
	user uuid.UUID
	ws   uuid.UUID
	// admin reads every workflow of the workspace (workflow:update or workflow:delete there).
	admin bool
	// sharedIn lists the workspaces whose shared workflows the caller reads: the workspace
	// itself and the ancestors they read.
	sharedIn []uuid.UUID
}

// cond is the visibility rule for a category as one SQL condition on the workflows table. Every
// listing, count and tag list is built from it, so what a caller cannot read never reaches a
// result, a count or an order.
func (v sight) cond(category string) (string, []any) {
	shared, sharedArgs := "1 = 0", []any(nil)
	if len(v.sharedIn) > 0 {
		shared, sharedArgs = "(workflows.shared AND workflows.workspace_id IN ?)", []any{v.sharedIn}
	}
	switch category {
	case CategoryUser:
		return "(workflows.workspace_id = ? AND workflows.owner_id = ?)", []any{v.ws, v.user}
	case CategoryShared:
		return shared, sharedArgs
	case CategoryDefault:
		return "workflows.is_system", nil
	}
	mine, args := "workflows.owner_id = ?", []any{v.ws, v.user}
	if v.admin {
		mine, args = "TRUE", []any{v.ws}
	}
	return "(workflows.is_system OR (workflows.workspace_id = ? AND " + mine + ") OR " + shared + ")", append(args, sharedArgs...)
}

const summaryColumns = "workflows.tenant_id, workflows.id, workflows.workspace_id, workflows.owner_id, workflows.is_system, " +
	"workflows.name, workflows.description, workflows.shared, workflows.has_thumbnail, workflows.created_at, workflows.updated_at"

// filtered applies the visibility rule and the filter to a query on workflows.
func filtered(q *gorm.DB, v sight, f Filter) *gorm.DB {
	cond, args := v.cond(f.Category)
	q = q.Where(cond, args...)
	if f.Tag != "" {
		q = q.Where("EXISTS (SELECT 1 FROM workflow_tags t WHERE t.tenant_id = workflows.tenant_id "+
			"AND t.workflow_id = workflows.id AND t.tag = ?)", f.Tag)
	}
	if f.Query != "" {
		q = q.Where(`LOWER(workflows.name) LIKE ? ESCAPE '\'`, "%"+likeEscape(strings.ToLower(f.Query))+"%")
	}
	return q
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// listed is a listing row: the workflow's summary columns and its tags joined by tagSep (a
// control character, which tags never contain).
type listed struct {
	Workflow
	TagList string `gorm:"column:tag_list"`
}

const tagSep = "\x1f"

func (l listed) tags() []string {
	if l.TagList == "" {
		return nil
	}
	out := strings.Split(l.TagList, tagSep)
	sort.Strings(out)
	return out
}

// tagListColumn aggregates a workflow's tags in the listing statement itself.
func tagListColumn(tx *gorm.DB) string {
	agg := "group_concat(t.tag, char(31))"
	if tx.Dialector.Name() == "postgres" {
		agg = "string_agg(t.tag, chr(31))"
	}
	return "COALESCE((SELECT " + agg + " FROM workflow_tags t WHERE t.tenant_id = workflows.tenant_id " +
		"AND t.workflow_id = workflows.id), '') AS tag_list"
}

// list is one page of the listing with each workflow's tags, in id (creation) order, as one
// statement.
func (store) list(tx *gorm.DB, v sight, f Filter, after uuid.UUID, limit int) ([]listed, error) {
	q := filtered(tx.Model(&Workflow{}).Select(summaryColumns+", "+tagListColumn(tx)), v, f)
	if after != uuid.Nil {
		q = q.Where("workflows.id > ?", after)
	}
	var out []listed
	return out, q.Order("workflows.id").Limit(limit).Find(&out).Error
}

// counts counts per category what the caller reads, as one statement.
func (store) counts(tx *gorm.DB, v sight) (Counts, error) {
	userCond, userArgs := v.cond(CategoryUser)
	sharedCond, sharedArgs := v.cond(CategoryShared)
	allCond, allArgs := v.cond("")
	var row struct {
		NUser, NShared, NDefault int64
	}
	err := tx.Model(&Workflow{}).
		Select("COUNT(CASE WHEN "+userCond+" THEN 1 END) AS n_user, COUNT(CASE WHEN "+sharedCond+" THEN 1 END) AS n_shared, "+
			"COUNT(CASE WHEN workflows.is_system THEN 1 END) AS n_default", append(userArgs, sharedArgs...)...).
		Where(allCond, allArgs...).Scan(&row).Error
	return Counts{User: row.NUser, Shared: row.NShared, Default: row.NDefault}, err
}

// tagCounts lists the tags of what the caller reads in a category, as one statement.
func (store) tagCounts(tx *gorm.DB, v sight, category string, limit int) ([]TagCount, error) {
	cond, args := v.cond(category)
	var out []TagCount
	err := tx.Model(&Tag{}).Select("workflow_tags.tag AS tag, COUNT(*) AS count").
		Joins("JOIN workflows ON workflows.tenant_id = workflow_tags.tenant_id AND workflows.id = workflow_tags.workflow_id").
		Where(cond, args...).Group("workflow_tags.tag").Order("workflow_tags.tag").Limit(limit).Scan(&out).Error
	return out, err
}
