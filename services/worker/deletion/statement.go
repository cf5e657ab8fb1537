package deletionworker

import (
	"fmt"
	"time"

	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/deletion"
	"github.com/redress/redress/workflows/policy"
)

// What a deletion did with one part of a system, as the certificate and the
// notice say it. Never "deleted from every system" unless it was: masked
// rows are kept with their identifying fields overwritten, restricted rows
// are kept until their retention duty ends, and a system that still holds
// data says so.
const (
	DoneErased     = "erased"
	DoneMasked     = "masked"
	DoneRestricted = "restricted"
	DoneLeft       = "not_erased"
	DoneNothing    = "nothing_held"
)

type outcome struct {
	Target          string     `json:"target"`
	Done            string     `json:"done"`
	Rows            int64      `json:"rows"`
	RestrictedUntil *time.Time `json:"restricted_until,omitempty"`
	Citation        string     `json:"citation,omitempty"`
}

// outcomesOf answers what the step did in one connector, from the approved
// plan and what verification found left.
func outcomesOf(items []wf.PlanItem, connector, step string, remaining int64) []outcome {
	var out []outcome
	for _, it := range items {
		if it.Connector != connector {
			continue
		}
		o := outcome{Target: it.Target, Rows: it.Count}
		switch it.Action {
		case wf.ActionDelete, wf.ActionShred:
			o.Done = DoneErased
		case wf.ActionMask:
			o.Done = DoneMasked
		case wf.ActionRestrict:
			o.Done, o.RestrictedUntil, o.Citation = DoneRestricted, it.RestrictUntil, it.Citation
			if step == "deferred" { // the retention duty ended: deleted now
				o.Done, o.RestrictedUntil = DoneErased, nil
			}
		default:
			o.Done = it.Action
		}
		out = append(out, o)
	}
	if remaining > 0 {
		out = append(out, outcome{Target: connector, Done: DoneLeft, Rows: remaining})
	}
	if len(out) == 0 {
		out = append(out, outcome{Target: connector, Done: DoneNothing})
	}
	return out
}

// statements words every outcome of every system, in English and Chinese.
func statements(systems []certificateItem) (en, zh []string) {
	for _, s := range systems {
		for _, o := range s.Outcomes {
			e, z := statement(s.Connector, o)
			en, zh = append(en, e), append(zh, z)
		}
	}
	return en, zh
}

func statement(system string, o outcome) (en, zh string) {
	where := system
	if o.Target != "" && o.Target != system {
		where = system + " / " + o.Target
	}
	switch o.Done {
	case DoneErased:
		return fmt.Sprintf("%s: %d record(s) erased.", where, o.Rows),
			fmt.Sprintf("%s：已删除 %d 条记录。", where, o.Rows)
	case DoneMasked:
		return fmt.Sprintf("%s: %d record(s) kept with your identifying details overwritten (masked).", where, o.Rows),
			fmt.Sprintf("%s：%d 条记录已去标识化保留（识别您的信息已被覆盖）。", where, o.Rows)
	case DoneRestricted:
		until := "the end of the retention period"
		untilZH := "留存期满"
		if o.RestrictedUntil != nil {
			d := calendar.DateOf(*o.RestrictedUntil, calendar.Shanghai()).String()
			until, untilZH = d, d
		}
		cite, citeZH := "", ""
		if o.Citation != "" {
			cite, citeZH = " ("+o.Citation+")", "（"+policy.CitationIn(o.Citation, "zh")+"）"
		}
		return fmt.Sprintf("%s: %d record(s) kept because the law requires it%s, restricted to storage and security until %s, then erased.", where, o.Rows, cite, until),
			fmt.Sprintf("%s：%d 条记录因法律要求留存%s，仅作存储和安全用途，至 %s 后删除。", where, o.Rows, citeZH, untilZH)
	case DoneLeft:
		return fmt.Sprintf("%s: %d record(s) could not be erased yet; we are handling it.", where, o.Rows),
			fmt.Sprintf("%s：仍有 %d 条记录尚未删除，我们正在处理。", where, o.Rows)
	case DoneNothing:
		return fmt.Sprintf("%s: held no data about you.", where), fmt.Sprintf("%s：未存有您的信息。", where)
	default:
		return fmt.Sprintf("%s: %d record(s): %s.", where, o.Rows, o.Done), fmt.Sprintf("%s：%d 条记录：%s。", where, o.Rows, o.Done)
	}
}
