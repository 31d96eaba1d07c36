package dev.lockstep.block.nbd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How failed I/O maps to NBD errors ({@link Nbd#errorFor(IOException)}), in English and
 * in the process's own language.
 */
class NbdErrorsTests {

	private static final String ENGLISH_NO_SPACE = "No space left on device";

	@Test
	void causesAreFoundAlongTheChainAndAnythingElseIsEio() {
		assertThat(Nbd.errorFor(new IOException("Write failed", new IOException(ENGLISH_NO_SPACE))))
			.isEqualTo(Nbd.ENOSPC);
		assertThat(Nbd.errorFor(new IOException("Disk quota exceeded"))).isEqualTo(Nbd.ENOSPC);
		assertThat(Nbd.errorFor(new IOException("File too large"))).isEqualTo(Nbd.ENOSPC);
		assertThat(Nbd.errorFor(new IOException("Read-only file system"))).isEqualTo(Nbd.EPERM);
		assertThat(Nbd.errorFor(new IOException("Input/output error"))).isEqualTo(Nbd.EIO);
		assertThat(Nbd.errorFor(new IOException((String) null))).isEqualTo(Nbd.EIO);
	}

	@Test
	void theLocalMessageForRunningOutOfSpaceIsEnospcToo() {
		String german = "Auf dem Gerät ist kein Speicherplatz mehr verfügbar";
		IOException failure = new IOException("Write failed", new IOException(german));
		assertThat(Nbd.errorFor(failure, german)).isEqualTo(Nbd.ENOSPC);
		assertThat(Nbd.errorFor(failure, null)).isEqualTo(Nbd.EIO);
	}

	/**
	 * A process whose messages are German (as with {@code LANG=de_DE.UTF-8}) gets the
	 * kernel's ENOSPC from {@code /dev/full} as a German message, and still answers
	 * ENOSPC. Needs glibc's translations (Debian's {@code libc-l10n}, which
	 * {@code .ci/run} installs).
	 */
	@Test
	void aFullDiskIsEnospcInAnyLanguage() throws Exception {
		Path java = Path.of(System.getProperty("java.home"), "bin", "java");
		String classpath = location(Nbd.class) + ":" + location(FullDeviceWriter.class);
		ProcessBuilder builder = new ProcessBuilder(
				List.of(java.toString(), "-cp", classpath, FullDeviceWriter.class.getName()));
		builder.environment().keySet().removeIf((name) -> name.startsWith("LC_") || name.equals("LANG"));
		builder.environment().put("LANG", "C.UTF-8");
		builder.environment().put("LANGUAGE", "de");
		builder.redirectErrorStream(true);
		Process process = builder.start();
		assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
		assertThat(output).as("the child's output").startsWith("ENOSPC\t");
		assertThat(output.substring("ENOSPC\t".length())).as("the German message (glibc's translations installed?)")
			.isNotEqualTo(ENGLISH_NO_SPACE)
			.contains("Speicherplatz");
	}

	private static String location(Class<?> type) throws Exception {
		return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
	}

}
