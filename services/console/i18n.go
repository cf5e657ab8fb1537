package console

import (
	"net/http"
	"strings"
)

// Languages the console speaks; the first is the default.
var languages = []string{"en", "zh"}

// messages holds every label and message of the console in each language.
// A key missing from a language falls back to English, then to the key.
var messages = map[string]map[string]string{
	"en": {
		"admin.users":             "Users and credentials",
		"admin.add_user":          "Add user",
		"admin.role":              "Role",
		"admin.set_role":          "Set",
		"admin.status":            "Status",
		"admin.tokens":            "API credentials",
		"admin.disabled":          "disabled",
		"admin.active":            "active",
		"admin.disable":           "Disable",
		"admin.enable":            "Enable",
		"admin.revoke":            "Revoke",
		"admin.revoked":           "revoked",
		"admin.issue_token":       "Issue API credential (30 days)",
		"admin.token_once":        "New credential, shown once — copy it now, for",
		"admin.password_optional": "Password (empty: single sign-on only)",
		"app":                     "Redress console",
		"signin":                  "Sign in",
		"signout":                 "Sign out",
		"username":                "Username",
		"password":                "Password",
		"signin.failed":           "Unknown user or wrong password.",
		"signin.locked":           "Account locked after repeated failures. Try again later.",
		"signin.sso":              "Sign in with your organisation's account (SSO)",
		"signin.no_account":       "Your organisation's account has no access here. Ask an administrator.",
		"signin.oidc_failed":      "Single sign-on failed. Try again.",
		"queue":                   "Queue",
		"view.mine":               "My cases",
		"view.team":               "All open",
		"view.unassigned":         "Unassigned",
		"view.overdue":            "Overdue",
		"view.at_risk":            "At risk (48 h)",
		"filter":                  "Filter",
		"filter.text":             "Case number or text",
		"filter.state":            "State",
		"filter.category":         "Category",
		"any":                     "any",
		"case":                    "Case",
		"category":                "Category",
		"channel":                 "Channel",
		"state":                   "State",
		"assignee":                "Assignee",
		"deadline":                "Resolution due",
		"ack_deadline":            "Acknowledgement due",
		"received":                "Received",
		"next":                    "Next page →",
		"first":                   "← First page",
		"no_cases":                "No cases match.",
		"overdue":                 "overdue",
		"complainant":             "Complainant",
		"name":                    "Name",
		"phone":                   "Phone",
		"email":                   "Email",
		"id_number":               "ID number",
		"reveal":                  "Reveal personal data",
		"reveal.reason":           "Reason",
		"reveal.note":             "Revealing is recorded in the audit trail with your name and reason.",
		"revealed":                "Revealed for this view only; recorded in the audit trail.",
		"reason.contact":          "Contacting the complainant",
		"reason.verify":           "Verifying identity",
		"reason.regulator":        "Regulator request",
		"reason.deletion":         "Deletion request",
		"description":             "Description",
		"subject":                 "Subject",
		"timeline":                "Timeline (audit record)",
		"actions":                 "Actions",
		"note":                    "Internal note",
		"add_note":                "Add note",
		"reply":                   "Reply to complainant",
		"send_reply":              "Send reply",
		"accept":                  "Accept",
		"reject":                  "Reject",
		"rejection_reason":        "Reason (PIPL Art. 50: a refusal gives its reason)",
		"assign":                  "Assign",
		"assign_to":               "Assign to (username)",
		"request_info":            "Request information",
		"question":                "Question",
		"record_response":         "Record complainant's answer",
		"answer":                  "Answer",
		"resolve":                 "Resolve",
		"feedback":                "Handling result sent to the complainant",
		"close":                   "Close",
		"reopen":                  "Reopen",
		"reopen_reason":           "Why reopen",
		"merge":                   "Merge into",
		"primary_case":            "Primary case id",
		"done":                    "Done.",
		"forbidden":               "You may not do this.",
		"not_found":               "Not found.",
		"bad_request":             "The request was refused",
		"csrf":                    "The form expired or did not come from this console. Reload and try again.",
		"error":                   "Something went wrong. Try again.",
		"language":                "中文",
		"change_password":         "Change password",
		"old_password":            "Current password",
		"new_password":            "New password (at least 12 characters)",
		"password_changed":        "Password changed. Sign in again.",
		"signed_in_as":            "Signed in as",
		"lang.switch":             "Language",
		"masked":                  "masked",
		"none":                    "—",
	},
	"zh": {
		"admin.users":             "用户与凭据",
		"admin.add_user":          "添加用户",
		"admin.role":              "角色",
		"admin.set_role":          "设置",
		"admin.status":            "状态",
		"admin.tokens":            "接口凭据",
		"admin.disabled":          "已停用",
		"admin.active":            "正常",
		"admin.disable":           "停用",
		"admin.enable":            "启用",
		"admin.revoke":            "吊销",
		"admin.revoked":           "已吊销",
		"admin.issue_token":       "签发接口凭据（30天）",
		"admin.token_once":        "新凭据仅显示一次，请立即复制，用户",
		"admin.password_optional": "密码（留空则仅限单点登录）",
		"app":                     "Redress 工作台",
		"signin":                  "登录",
		"signout":                 "退出",
		"username":                "用户名",
		"password":                "密码",
		"signin.failed":           "用户名或密码错误。",
		"signin.locked":           "多次失败，账户已锁定，请稍后再试。",
		"signin.sso":              "使用单位账号登录（单点登录）",
		"signin.no_account":       "您的单位账号无权访问本系统，请联系管理员。",
		"signin.oidc_failed":      "单点登录失败，请重试。",
		"queue":                   "工单队列",
		"view.mine":               "我的工单",
		"view.team":               "全部未结",
		"view.unassigned":         "未分配",
		"view.overdue":            "已超期",
		"view.at_risk":            "即将超期（48小时）",
		"filter":                  "筛选",
		"filter.text":             "工单号或内容",
		"filter.state":            "状态",
		"filter.category":         "类别",
		"any":                     "全部",
		"case":                    "工单",
		"category":                "类别",
		"channel":                 "渠道",
		"state":                   "状态",
		"assignee":                "处理人",
		"deadline":                "办结期限",
		"ack_deadline":            "受理期限",
		"received":                "收到时间",
		"next":                    "下一页 →",
		"first":                   "← 第一页",
		"no_cases":                "没有符合条件的工单。",
		"overdue":                 "已超期",
		"complainant":             "投诉人",
		"name":                    "姓名",
		"phone":                   "电话",
		"email":                   "电子邮箱",
		"id_number":               "身份证号",
		"reveal":                  "查看个人信息",
		"reveal.reason":           "事由",
		"reveal.note":             "查看操作将连同您的姓名和事由记入审计记录。",
		"revealed":                "仅本次显示；已记入审计记录。",
		"reason.contact":          "联系投诉人",
		"reason.verify":           "核实身份",
		"reason.regulator":        "监管部门要求",
		"reason.deletion":         "删除请求",
		"description":             "描述",
		"subject":                 "投诉对象",
		"timeline":                "处理记录（审计）",
		"actions":                 "操作",
		"note":                    "内部备注",
		"add_note":                "添加备注",
		"reply":                   "答复投诉人",
		"send_reply":              "发送答复",
		"accept":                  "受理",
		"reject":                  "不予受理",
		"rejection_reason":        "理由（个人信息保护法第五十条：拒绝须说明理由）",
		"assign":                  "分配",
		"assign_to":               "分配给（用户名）",
		"request_info":            "补充材料",
		"question":                "问题",
		"record_response":         "记录投诉人答复",
		"answer":                  "答复内容",
		"resolve":                 "办结",
		"feedback":                "告知投诉人的处理结果",
		"close":                   "关闭",
		"reopen":                  "重新处理",
		"reopen_reason":           "重新处理原因",
		"merge":                   "合并到",
		"primary_case":            "主工单编号（ID）",
		"done":                    "已完成。",
		"forbidden":               "您无权执行此操作。",
		"not_found":               "未找到。",
		"bad_request":             "请求被拒绝",
		"csrf":                    "表单已过期或并非来自本系统，请刷新后重试。",
		"error":                   "出错了，请重试。",
		"language":                "English",
		"change_password":         "修改密码",
		"old_password":            "当前密码",
		"new_password":            "新密码（至少12个字符）",
		"password_changed":        "密码已修改，请重新登录。",
		"signed_in_as":            "当前用户",
		"lang.switch":             "语言",
		"masked":                  "已脱敏",
		"none":                    "—",
	},
}

func translate(lang, key string) string {
	if m, ok := messages[lang][key]; ok {
		return m
	}
	if m, ok := messages["en"][key]; ok {
		return m
	}
	return key
}

// language picks the console language: the "lang" cookie, else the
// browser's Accept-Language, else English.
func language(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil {
		for _, l := range languages {
			if c.Value == l {
				return l
			}
		}
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "zh") {
		return "zh"
	}
	return "en"
}

// enumNames gives Chinese labels of the enum values the console shows;
// English labels are the value names made readable.
var enumNames = map[string]string{
	"CASE_STATE_RECEIVED": "已接收", "CASE_STATE_ACCEPTED": "已受理", "CASE_STATE_REJECTED": "不予受理",
	"CASE_STATE_IN_PROGRESS": "处理中", "CASE_STATE_AWAITING_COMPLAINANT": "等待投诉人", "CASE_STATE_RESOLVED": "已办结",
	"CASE_STATE_REOPENED": "重新处理", "CASE_STATE_CLOSED": "已关闭", "CASE_STATE_MERGED": "已合并",
	"CATEGORY_SPAM_SMS": "垃圾短信", "CATEGORY_HARASSING_CALL": "骚扰电话", "CATEGORY_JUNK_EMAIL": "垃圾邮件",
	"CATEGORY_MALICIOUS_PROGRAM": "恶意程序", "CATEGORY_PROHIBITED_INFORMATION": "违法信息",
	"CATEGORY_PERSONAL_INFORMATION_LEAK": "个人信息泄露", "CATEGORY_IDENTITY_MISUSE": "身份冒用",
	"CATEGORY_ACCOUNT_SECURITY": "账户安全", "CATEGORY_SERVICE_QUALITY": "服务质量", "CATEGORY_OTHER": "其他",
	"CHANNEL_WEB_FORM": "网页表单", "CHANNEL_API": "接口", "CHANNEL_PHONE": "电话", "CHANNEL_EMAIL": "电子邮件",
	"CHANNEL_SMS": "短信", "CHANNEL_REGULATOR_REFERRAL": "监管转办", "CHANNEL_INTERNAL": "内部",
	"REJECTION_REASON_OUT_OF_SCOPE": "不属于受理范围", "REJECTION_REASON_INSUFFICIENT_INFORMATION": "信息不足",
	"REJECTION_REASON_NOT_OUR_SERVICE": "非本单位业务", "REJECTION_REASON_ABUSIVE": "恶意投诉",
	"REJECTION_REASON_ALREADY_HANDLED": "已处理过", "REJECTION_REASON_IDENTITY_NOT_VERIFIED": "身份未核实",
}

var enumPrefixes = []string{"CASE_STATE_", "CATEGORY_", "CHANNEL_", "REJECTION_REASON_", "CASE_KIND_"}

func enumLabel(lang, name string) string {
	if lang == "zh" {
		if l, ok := enumNames[name]; ok {
			return l
		}
	}
	for _, p := range enumPrefixes {
		name = strings.TrimPrefix(name, p)
	}
	return strings.ReplaceAll(strings.ToLower(name), "_", " ")
}
