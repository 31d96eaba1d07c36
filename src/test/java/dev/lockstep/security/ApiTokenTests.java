package dev.lockstep.security;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.util.unit.DataSize;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ApiToken}.
 */
class ApiTokenTests {

	@TempDir
	Path dir;

	private SecurityProperties properties(String token) {
		return new SecurityProperties(token, this.dir.resolve("data/api-token"), "api-token", false, false,
				DataSize.ofKilobytes(64));
	}

	@Test
	void generatesATokenIntoAPrivateFileAndReusesIt() throws Exception {
		Path file = this.dir.resolve("data/api-token");
		ApiToken first = ApiToken.resolve(properties(null));
		String written = Files.readString(file).strip();
		assertThat(written).hasSizeGreaterThanOrEqualTo(40);
		assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
		assertThat(first.matches(written)).isTrue();
		ApiToken second = ApiToken.resolve(properties(" "));
		assertThat(second.matches(written)).isTrue();
		assertThat(Files.readString(file).strip()).isEqualTo(written);
	}

	@Test
	void configuredTokenWinsAndNoFileIsWritten() {
		ApiToken token = ApiToken.resolve(properties("s3cret"));
		assertThat(token.matches("s3cret")).isTrue();
		assertThat(token.matches("s3cre")).isFalse();
		assertThat(token.matches("s3cret ")).isFalse();
		assertThat(token.matches(null)).isFalse();
		assertThat(this.dir.resolve("data/api-token")).doesNotExist();
	}

}
