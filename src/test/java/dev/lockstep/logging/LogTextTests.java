package dev.lockstep.logging;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LogTextTests {

	@Test
	void plainTextIsOnlyQuoted() {
		assertThat(LogText.quote("disk0")).isEqualTo("\"disk0\"");
	}

	@Test
	void controlCharactersQuotesAndNonAsciiAreEscaped() {
		assertThat(LogText.quote("a\nWARN forged\r\t\"\\\u0000é"))
			.isEqualTo("\"a\\nWARN forged\\r\\t\\\"\\\\\\u0000\\u00e9\"");
	}

	@Test
	void longTextIsCutAndCounted() {
		String quoted = LogText.quote("x".repeat(LogText.MAX_LENGTH + 10));
		assertThat(quoted).startsWith("\"xxx").endsWith("\"…(10 more)");
		assertThat(quoted).hasSize(LogText.MAX_LENGTH + 2 + "…(10 more)".length());
	}

	@Test
	void nullIsShownUnquoted() {
		assertThat(LogText.quote(null)).isEqualTo("null");
	}

}
