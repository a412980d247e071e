/* The console curses' keys (curses.h): ReadConsoleInputW's key events as
 * the codes a terminal's curses gives (F13-F24 are Shift+F1-F12 and
 * F25-F36 Ctrl+F1-F12, as xterm sends them), Alt+key as Esc then the key,
 * text beyond ASCII as its UTF-8 bytes; a changed window size is
 * KEY_RESIZE. */
#include <curses.h>

#include <stdint.h>

#include "curses_int.h"

/* keys read and not handed out yet: ungetch puts one in front */
#define QLEN 256
static int g_q[QLEN];
static unsigned g_qhead, g_qlen;
static int g_timeout = -1;

static void push_back(int k)
{
	if (g_qlen < QLEN)
		g_q[(g_qhead + g_qlen++) % QLEN] = k;
}

int ungetch(int ch)
{
	if (g_qlen >= QLEN)
		return ERR;
	g_qhead = (g_qhead + QLEN - 1) % QLEN;
	g_q[g_qhead] = ch;
	g_qlen++;
	return OK;
}

static int pop(void)
{
	int k = g_q[g_qhead];
	g_qhead = (g_qhead + 1) % QLEN;
	g_qlen--;
	return k;
}

const char *keyname(int k)
{
	return k == VM_KEY_CLEFT ? "kLFT5" : k == VM_KEY_CRIGHT ? "kRIT5" : NULL;
}

void timeout(int ms)
{
	g_timeout = ms;
}

static int fkey(WORD vk, DWORD st)
{
	int n = vk - VK_F1 + 1;
	if (st & SHIFT_PRESSED)
		n += 12;
	else if (st & (LEFT_CTRL_PRESSED | RIGHT_CTRL_PRESSED))
		n += 24;
	return KEY_F(n);
}

static void utf8(unsigned c)
{
	if (c < 0x800) {
		push_back(0xc0 | (int)(c >> 6));
	} else {
		push_back(0xe0 | (int)(c >> 12));
		push_back(0x80 | (int)((c >> 6) & 0x3f));
	}
	push_back(0x80 | (int)(c & 0x3f));
}

/* one key press (repeated as often as the console says) */
static void key(const KEY_EVENT_RECORD *k)
{
	WORD vk = k->wVirtualKeyCode;
	DWORD st = k->dwControlKeyState;
	unsigned ch = k->uChar.UnicodeChar;
	int code = 0;
	switch (vk) {
	case VK_UP: code = KEY_UP; break;
	case VK_DOWN: code = KEY_DOWN; break;
	case VK_LEFT: code = st & (LEFT_CTRL_PRESSED | RIGHT_CTRL_PRESSED) ? VM_KEY_CLEFT : KEY_LEFT; break;
	case VK_RIGHT: code = st & (LEFT_CTRL_PRESSED | RIGHT_CTRL_PRESSED) ? VM_KEY_CRIGHT : KEY_RIGHT; break;
	case VK_PRIOR: code = KEY_PPAGE; break;
	case VK_NEXT: code = KEY_NPAGE; break;
	case VK_HOME: code = KEY_HOME; break;
	case VK_END: code = KEY_END; break;
	case VK_DELETE: code = KEY_DC; break;
	case VK_INSERT: code = KEY_IC; break;
	case VK_BACK: code = KEY_BACKSPACE; break;
	case VK_RETURN: code = '\r'; break;
	case VK_ESCAPE: code = 27; break;
	case VK_TAB: code = st & SHIFT_PRESSED ? KEY_BTAB : '\t'; break;
	default:
		if (vk >= VK_F1 && vk <= VK_F12)
			code = fkey(vk, st);
	}
	for (WORD r = k->wRepeatCount ? k->wRepeatCount : 1; r > 0; r--) {
		if (code) {
			push_back(code);
			continue;
		}
		if (!ch || (ch >= 0xd800 && ch < 0xe000)) /* a modifier alone; half of a pair */
			return;
		if (st & (LEFT_ALT_PRESSED | RIGHT_ALT_PRESSED))
			push_back(27);
		if (ch < 0x80)
			push_back((int)ch);
		else
			utf8(ch);
	}
}

/* the waiting input records into keys; true when the size changed */
static bool drain(void)
{
	bool resized = false;
	DWORD n = 0;
	while (GetNumberOfConsoleInputEvents(vm_curses_in, &n) && n > 0) {
		INPUT_RECORD rec[32];
		DWORD got = 0;
		if (!ReadConsoleInputW(vm_curses_in, rec, 32, &got) || got == 0)
			break;
		for (DWORD i = 0; i < got; i++) {
			if (rec[i].EventType == KEY_EVENT && rec[i].Event.KeyEvent.bKeyDown)
				key(&rec[i].Event.KeyEvent);
			else if (rec[i].EventType == WINDOW_BUFFER_SIZE_EVENT)
				resized = true;
		}
	}
	return resized;
}

int getch(void)
{
	ULONGLONG start = GetTickCount64();
	for (;;) {
		bool resized = drain();
		/* a resize event, or a window that changed size without one */
		if ((resized || !g_qlen) && vm_curses_resized())
			return KEY_RESIZE;
		if (g_qlen)
			return pop();
		DWORD wait = INFINITE;
		if (g_timeout >= 0) {
			ULONGLONG gone = GetTickCount64() - start;
			if (gone >= (ULONGLONG)g_timeout)
				return ERR;
			wait = (DWORD)((ULONGLONG)g_timeout - gone);
		}
		/* signalled while records wait (key releases too: drained above) */
		if (WaitForSingleObject(vm_curses_in, wait) == WAIT_FAILED)
			return ERR;
	}
}
