package i18n

// Shared holds the words every surface shows alike (console, public pages,
// notices, PDFs): the names of states, statuses, roles, kinds, categories
// and channels by their stored code, and column headings. A surface's own
// catalogue holds its sentences; it looks these up here, so a state reads
// the same on the console, the status page and a filing. Keys are
// "group.code" (e.g. "state.in_progress"); Term looks one up.
var Shared = Catalogue{
	ZH: {
		"kind.complaint": "投诉", "kind.report": "举报",

		"category.spam_sms": "垃圾短信", "category.harassing_call": "骚扰电话", "category.junk_email": "垃圾邮件",
		"category.malicious_program": "恶意程序", "category.prohibited_information": "违法信息",
		"category.personal_information_leak": "个人信息泄露", "category.identity_misuse": "身份冒用",
		"category.account_security": "账户安全", "category.service_quality": "服务质量", "category.other": "其他",

		"channel.web_form": "网页表单", "channel.api": "接口", "channel.phone": "电话", "channel.email": "电子邮件",
		"channel.sms": "短信", "channel.regulator_referral": "监管转办", "channel.internal": "内部", "channel.counter": "柜台",

		"state.received": "已接收", "state.accepted": "已受理", "state.rejected": "不予受理", "state.in_progress": "处理中",
		"state.awaiting_complainant": "等待投诉人", "state.resolved": "已办结", "state.reopened": "重新处理",
		"state.closed": "已关闭", "state.merged": "已合并",

		"deadline.acknowledgement": "受理", "deadline.resolution": "处理",
		"dstatus.open": "进行中", "dstatus.paused": "已暂停计时", "dstatus.met": "已按时完成", "dstatus.breached": "已超时",

		"deletion.awaiting_identity": "待核验身份", "deletion.locating": "查找数据中", "deletion.awaiting_approval": "待批准",
		"deletion.executing": "删除中", "deletion.verifying": "核验中", "deletion.restricted": "已完成（部分依法留存）",
		"deletion.completed": "已完成", "deletion.rejected": "已拒绝", "deletion.cancelled": "已撤销", "deletion.failed": "失败",

		"esc_kind.sla_breach": "超期上报", "esc_kind.mandatory_report": "强制报告", "esc_kind.incident": "安全事件",
		"esc_kind.regulator_inquiry": "监管问询", "esc_kind.manual": "人工升级",
		"esc.open": "待报送", "esc.filed": "已报送", "esc.acknowledged": "已回执", "esc.closed": "已关闭",
		"followup.open": "待答复", "followup.answered": "已答复",
		"adapter.https": "接口报送", "adapter.email": "电子邮件报送", "adapter.manual": "人工报送",

		"role.agent": "客服专员", "role.supervisor": "主管", "role.compliance_officer": "合规专员", "role.admin": "管理员",
		"role.automation": "自动化接口", "role.public_site": "公众网站", "role.none": "无（待确认）",

		"rejection.out_of_scope": "不属于受理范围", "rejection.insufficient_information": "信息不足",
		"rejection.not_our_service": "非本单位业务", "rejection.abusive": "恶意投诉", "rejection.already_handled": "已处理过",
		"rejection.identity_not_verified": "身份未核实",
		"subject_type.phone_number":       "电话号码", "subject_type.email_address": "电子邮件地址", "subject_type.url": "网址",
		"subject_type.app": "应用", "subject_type.account": "账号", "subject_type.message_content": "信息内容",

		"col.found": "找到", "col.affected": "已处理", "col.remaining": "剩余", "col.receipt": "回执",

		"action.delete": "删除", "action.mask": "遮蔽", "action.restrict": "限制处理（依法留存）", "action.shred": "销毁密钥",
		"action.task": "人工任务", "action.webhook": "通知系统", "action.none": "无",

		"unit.hours": "小时", "unit.calendar_days": "日", "unit.working_days": "个工作日", "unit.calendar_months": "个月",
		"rule.pausable":               "可暂停计时",
		"severity.especially_serious": "特别重大", "severity.serious": "重大", "severity.relatively_serious": "较大", "severity.general": "一般",
	},
	EN: {
		"kind.complaint": "complaint", "kind.report": "report",

		"category.spam_sms": "spam SMS", "category.harassing_call": "harassing call", "category.junk_email": "junk email",
		"category.malicious_program": "malicious program", "category.prohibited_information": "prohibited information",
		"category.personal_information_leak": "personal information leak", "category.identity_misuse": "identity misuse",
		"category.account_security": "account security", "category.service_quality": "service quality", "category.other": "other",

		"channel.web_form": "web form", "channel.api": "API", "channel.phone": "phone", "channel.email": "email",
		"channel.sms": "SMS", "channel.regulator_referral": "regulator referral", "channel.internal": "internal", "channel.counter": "counter",

		"state.received": "received", "state.accepted": "accepted", "state.rejected": "rejected", "state.in_progress": "in progress",
		"state.awaiting_complainant": "awaiting complainant", "state.resolved": "resolved", "state.reopened": "reopened",
		"state.closed": "closed", "state.merged": "merged",

		"deadline.acknowledgement": "acknowledgement", "deadline.resolution": "resolution",
		"dstatus.open": "open", "dstatus.paused": "paused", "dstatus.met": "met", "dstatus.breached": "missed",

		"deletion.awaiting_identity": "awaiting identity", "deletion.locating": "locating", "deletion.awaiting_approval": "awaiting approval",
		"deletion.executing": "executing", "deletion.verifying": "verifying", "deletion.restricted": "done (some kept by law)",
		"deletion.completed": "completed", "deletion.rejected": "rejected", "deletion.cancelled": "cancelled", "deletion.failed": "failed",

		"esc_kind.sla_breach": "deadline breach", "esc_kind.mandatory_report": "mandatory report", "esc_kind.incident": "incident",
		"esc_kind.regulator_inquiry": "regulator inquiry", "esc_kind.manual": "manual escalation",
		"esc.open": "open", "esc.filed": "filed", "esc.acknowledged": "acknowledged", "esc.closed": "closed",
		"followup.open": "open", "followup.answered": "answered",
		"adapter.https": "HTTPS", "adapter.email": "email", "adapter.manual": "filed by hand",

		"role.agent": "agent", "role.supervisor": "supervisor", "role.compliance_officer": "compliance officer", "role.admin": "administrator",
		"role.automation": "automation", "role.public_site": "public site", "role.none": "none (awaiting confirmation)",

		"rejection.out_of_scope": "out of scope", "rejection.insufficient_information": "insufficient information",
		"rejection.not_our_service": "not our service", "rejection.abusive": "abusive", "rejection.already_handled": "already handled",
		"rejection.identity_not_verified": "identity not verified",
		"subject_type.phone_number":       "phone number", "subject_type.email_address": "email address", "subject_type.url": "URL",
		"subject_type.app": "app", "subject_type.account": "account", "subject_type.message_content": "message content",

		"col.found": "found", "col.affected": "affected", "col.remaining": "remaining", "col.receipt": "receipt",

		"action.delete": "delete", "action.mask": "mask", "action.restrict": "restrict (kept by law)", "action.shred": "shred key",
		"action.task": "manual task", "action.webhook": "notify system", "action.none": "none",

		"unit.hours": "hours", "unit.calendar_days": "calendar days", "unit.working_days": "working days", "unit.calendar_months": "months",
		"rule.pausable":               "pausable",
		"severity.especially_serious": "especially serious", "severity.serious": "serious", "severity.relatively_serious": "relatively serious", "severity.general": "general",
	},
}

// Term is the shared name of a stored code in group ("state", "role", ...)
// in l; a code the catalogue does not know prints as it is.
func Term(l Lang, group, code string) string {
	if s, ok := Shared[l][group+"."+code]; ok {
		return s
	}
	return code
}
