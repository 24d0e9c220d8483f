package workflows

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// systemWorkflow is a default workflow every new tenant gets.
type systemWorkflow struct {
	name, description string
	tags              []string
	graph             string
}

var systemWorkflows = []systemWorkflow{
	{
		name:        "thumbnail 512",
		description: "Scale an image to 512 pixels wide, keeping its aspect ratio.",
		tags:        []string{"resize", "thumbnail"},
		graph: `{"nodes":[{"id":"input","type":"image_input"},{"id":"resize","type":"resize","fields":{"width":512,"height":0}},
			{"id":"output","type":"output"}],
			"edges":[{"from":"input.image","to":"resize.image"},{"from":"resize.image","to":"output.image"}],
			"exposed":["input.image_id","resize.width"]}`,
	},
	{
		name:        "grayscale",
		description: "Turn an image into shades of grey.",
		tags:        []string{"color"},
		graph: `{"nodes":[{"id":"input","type":"image_input"},{"id":"gray","type":"grayscale"},{"id":"output","type":"output"}],
			"edges":[{"from":"input.image","to":"gray.image"},{"from":"gray.image","to":"output.image"}],
			"exposed":["input.image_id"]}`,
	},
	{
		name:        "watermark with an image",
		description: "Overlay a watermark image on a picture at a position, half transparent.",
		tags:        []string{"composite", "watermark"},
		graph: `{"nodes":[{"id":"picture","type":"image_input"},{"id":"mark","type":"image_input"},
			{"id":"overlay","type":"composite","fields":{"x":16,"y":16,"opacity":0.5}},{"id":"output","type":"output"}],
			"edges":[{"from":"picture.image","to":"overlay.base"},{"from":"mark.image","to":"overlay.overlay"},
			{"from":"overlay.image","to":"output.image"}],
			"exposed":["picture.image_id","mark.image_id","overlay.x","overlay.y","overlay.opacity"]}`,
	},
}

// SeedTenant adds the system ("default") workflows to a new tenant inside its sign-up
// transaction (tenants.Seeder).
func (s *Service) SeedTenant(_ context.Context, tx *gorm.DB) error {
	for _, sw := range systemWorkflows {
		g, err := parseGraph([]byte(sw.graph))
		if err != nil {
			return fmt.Errorf("system workflow %q: %w", sw.name, err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		tags, err := normaliseTags(sw.tags, false)
		if err != nil {
			return err
		}
		w := Workflow{ID: id, IsSystem: true, Name: sw.name, Description: sw.description, Graph: g}
		if err := s.store.insert(tx, &w, tags); err != nil {
			return fmt.Errorf("seed system workflow %q: %w", sw.name, err)
		}
	}
	return nil
}
