package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the server refuses, and that each refusal is logged once, with the reason the
 * client is given, and with client-supplied text escaped.
 */
@Timeout(60)
@ExtendWith(OutputCaptureExtension.class)
class NbdRefusalTests {

	private static final long MIB = 1024 * 1024;

	private static final long SIZE = 64 * MIB;

	@RegisterExtension
	final TestServer.PerTest server = TestServer.perTest().disk("disk0", SIZE);

	@BeforeEach
	void logRefusals() {
		NbdLogs.atInfo();
	}

	@AfterEach
	void restoreLogLevels() {
		NbdLogs.restore();
	}

	@Test
	void aClientThatSendsTooManyOptionsWithoutSelectingAnExportIsRefusedAndDisconnected(CapturedOutput output)
			throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			for (int i = 0; i < NbdHandshake.MAX_OPTIONS; i++) {
				connection.option(Nbd.OPT_STRUCTURED_REPLY, null);
				NbdHandshakeCodec.OptionReply reply = connection.optionReply();
				assertThat(reply.type()).as("reply to option %d", i + 1).isEqualTo(Nbd.REP_ACK);
			}
			connection.option(Nbd.OPT_STRUCTURED_REPLY, null);
			NbdHandshakeCodec.OptionReply refused = connection.optionReply();
			assertThat(refused.type()).isEqualTo(Nbd.REP_ERR_POLICY);
			String message = StandardCharsets.UTF_8.decode(connection.read((int) refused.length())).toString();
			assertThat(message).contains("more than 32 options without selecting an export");
			assertThat(connection.closedByServer()).isTrue();
		}
		assertThat(output.getOut().lines().filter((line) -> line.contains("more than 32 options"))).singleElement()
			.asString()
			.contains("Refused NBD client");
		// The server forgets the connection just after closing its socket.
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(this.server.server().connectionCount()).isZero());
	}

	@Test
	void thirtyTwoOptionsAndThenSelectingAnExportIsServed() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			for (int i = 0; i < NbdHandshake.MAX_OPTIONS - 1; i++) {
				connection.option(Nbd.OPT_STRUCTURED_REPLY, null);
				assertThat(connection.optionReply().type()).isEqualTo(Nbd.REP_ACK);
			}
			assertThat(connection.go("disk0")).isEqualTo(SIZE);
		}
	}

	@Test
	void listingExportsLeavesRoomToAskAboutEach() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.option(Nbd.OPT_LIST, null);
			assertThat(connection.optionReply().type()).isEqualTo(Nbd.REP_SERVER);
			connection.read(4 + "disk0".length());
			assertThat(connection.optionReply().type()).isEqualTo(Nbd.REP_ACK);
			for (int i = 0; i < 2 * NbdHandshake.MAX_OPTIONS - 2; i++) {
				connection.option(Nbd.OPT_STRUCTURED_REPLY, null);
				assertThat(connection.optionReply().type()).isEqualTo(Nbd.REP_ACK);
			}
			assertThat(connection.go("disk0")).isEqualTo(SIZE);
		}
	}

	@Test
	void eachRefusedRequestIsLoggedOnceWithTheReasonAndErrorTheClientIsGiven(CapturedOutput output) throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.option(Nbd.OPT_STRUCTURED_REPLY, null);
			assertThat(connection.optionReply().type()).isEqualTo(Nbd.REP_ACK);
			assertThat(connection.go("disk0")).isEqualTo(SIZE);
			// Out of range, an unknown flag, and larger than the server accepts.
			connection.request(0, Nbd.CMD_READ, 1, SIZE - 512, 1024);
			connection.request(0x100, Nbd.CMD_READ, 2, 0, 512);
			connection.request(0, Nbd.CMD_READ, 3, 0, NbdServer.MAX_REQUEST + 1L);
			connection.request(0, Nbd.CMD_WRITE_ZEROES, 4, SIZE, 4096);
			Map<Long, NbdCodec.ErrorPayload> errors = new HashMap<>();
			for (int i = 0; i < 4; i++) {
				Map.Entry<Long, NbdCodec.ErrorPayload> error = connection.structuredError();
				errors.put(error.getKey(), error.getValue());
			}
			NbdCodec.ErrorPayload outOfRange = errors.get(1L);
			NbdCodec.ErrorPayload badFlags = errors.get(2L);
			NbdCodec.ErrorPayload tooLarge = errors.get(3L);
			NbdCodec.ErrorPayload beyondTheEnd = errors.get(4L);
			assertThat(outOfRange.error()).isEqualTo(Nbd.EINVAL);
			assertThat(outOfRange.message()).contains("goes beyond the end of the export");
			assertThat(badFlags.error()).isEqualTo(Nbd.EINVAL);
			assertThat(badFlags.message()).isEqualTo("Invalid READ request (flags 0x100)");
			assertThat(tooLarge.error()).isEqualTo(Nbd.EINVAL);
			assertThat(tooLarge.message()).contains("exceeds the maximum of " + NbdServer.MAX_REQUEST);
			assertThat(beyondTheEnd.error()).isEqualTo(Nbd.ENOSPC);
			for (NbdCodec.ErrorPayload error : new NbdCodec.ErrorPayload[] { outOfRange, badFlags, tooLarge,
					beyondTheEnd }) {
				assertThat(output.getOut().lines().filter((line) -> line.contains("Refused ")))
					.filteredOn(
							(line) -> line.endsWith(" with " + Nbd.errorName(error.error()) + ": " + error.message()))
					.hasSize(1);
			}
		}
		assertThat(this.server.registry().get("disk0").stats().errors()).isEqualTo(4);
	}

	@Test
	void anExportNameWithANewlineAndAControlByteIsLoggedAsOneEscapedLine(CapturedOutput output) throws Exception {
		String name = "no-such\nINFO forged line\u0007";
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.option(Nbd.OPT_EXPORT_NAME, ByteBuffer.wrap(name.getBytes(StandardCharsets.UTF_8)));
			assertThat(connection.closedByServer()).isTrue();
		}
		assertThat(output.getOut()).doesNotContain("\nINFO forged line").doesNotContain("\u0007");
		assertThat(output.getOut().lines().filter((line) -> line.contains("asked for unknown export"))).singleElement()
			.asString()
			.endsWith("asked for unknown export \"no-such\\nINFO forged line\\u0007\"");
	}

}
