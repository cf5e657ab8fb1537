package console

import "github.com/redress/redress/services/internal/i18n"

// The notification panel's labels, added to the console's catalogue
// (messages) in both languages.
var alertMessages = map[string]map[string]string{
	"en": {
		"alerts":             "Alerts",
		"alerts.unread":      "unread alerts",
		"alerts.show_all":    "Show all",
		"alerts.show_unread": "Show unread only",
		"alerts.read_all":    "Mark all read",
		"alerts.mark_read":   "Mark read",
		"alerts.read":        "Read",
		"alerts.what":        "What",
		"alerts.ref":         "Number",
		"alerts.due":         "Due",
		"alerts.raised":      "Raised",
		"alerts.none":        "No alerts.",
		"alerts.preferences": "How you are told",
		"alerts.in_console":  "In the console",
		"alerts.by_email":    "By email",
		"alerts.email_note":  "Mail goes to your account's work address; alerts carry numbers and links, never personal data.",
		"alerts.save":        "Save preferences",

		"alert.ALERT_KIND_CASE_AT_RISK":           "Case deadline near",
		"alert.ALERT_KIND_CASE_OVERDUE":           "Case deadline missed",
		"alert.ALERT_KIND_DELETION_APPROVAL":      "Deletion plan waits for approval",
		"alert.ALERT_KIND_ESCALATION_DUE":         "Escalation or incident due soon",
		"alert.ALERT_KIND_ESCALATION_OVERDUE":     "Escalation or incident overdue or needs a supervisor",
		"alert.ALERT_KIND_CALENDAR_MISSING":       "No official holiday calendar for next year",
		"alert.ALERT_KIND_DEADLINE_MOVED_EARLIER": "Deadline moved earlier by a new calendar",
		"alert.ALERT_KIND_COMPLAINANT_WROTE":      "The complainant wrote",
	},
	"zh": {
		"alerts":             "提醒",
		"alerts.unread":      "未读提醒",
		"alerts.show_all":    "显示全部",
		"alerts.show_unread": "只看未读",
		"alerts.read_all":    "全部标为已读",
		"alerts.mark_read":   "标为已读",
		"alerts.read":        "已读",
		"alerts.what":        "事项",
		"alerts.ref":         "编号",
		"alerts.due":         "期限",
		"alerts.raised":      "提醒时间",
		"alerts.none":        "没有提醒。",
		"alerts.preferences": "提醒方式",
		"alerts.in_console":  "工作台内",
		"alerts.by_email":    "电子邮件",
		"alerts.email_note":  "邮件发送至您账户的工作邮箱；提醒只含编号和链接，不含个人信息。",
		"alerts.save":        "保存设置",

		"alert.ALERT_KIND_CASE_AT_RISK":           "工单即将到期",
		"alert.ALERT_KIND_CASE_OVERDUE":           "工单已逾期",
		"alert.ALERT_KIND_DELETION_APPROVAL":      "删除计划待审批",
		"alert.ALERT_KIND_ESCALATION_DUE":         "上报或事件即将到期",
		"alert.ALERT_KIND_ESCALATION_OVERDUE":     "上报或事件已逾期或需主管处理",
		"alert.ALERT_KIND_CALENDAR_MISSING":       "缺少下一年度官方节假日安排",
		"alert.ALERT_KIND_DEADLINE_MOVED_EARLIER": "新节假日安排使期限提前",
		"alert.ALERT_KIND_COMPLAINANT_WROTE":      "投诉人来信",
	},
}

func init() {
	for lang, m := range alertMessages {
		for k, v := range m {
			messages[i18n.Lang(lang)][k] = v
		}
	}
}
