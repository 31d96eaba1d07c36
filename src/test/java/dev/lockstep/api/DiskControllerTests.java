package dev.lockstep.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.servlet.assertj.MockMvcTester;

import dev.lockstep.TestClients;
import dev.lockstep.block.nbd.NbdServer;
import dev.lockstep.block.nbd.Tools;
import dev.lockstep.block.replicated.BlockReplicationParticipant;
import dev.lockstep.replication.ReplicationMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * GET /api/v1/disks in the full application, with the NBD server on an ephemeral port and
 * the default disk in a temporary directory.
 */
@SpringBootTest
@AutoConfigureMockMvc
class DiskControllerTests {

	@DynamicPropertySource
	static void properties(DynamicPropertyRegistry registry) throws IOException {
		Path directory = Files.createTempDirectory("lockstep-disks");
		registry.add("lockstep.block.data-dir", directory::toString);
		registry.add("lockstep.block.nbd.port", () -> "0");
	}

	@Autowired
	MockMvcTester mvc;

	@Autowired
	NbdServer server;

	@Autowired
	BlockReplicationParticipant participant;

	@Test
	void listsDisksWithExportUrlAndCounters() throws Exception {
		String uri = "nbd://127.0.0.1:" + this.server.port() + "/disk0";
		Tools.ok(30, "qemu-io", "-f", "raw", "-c", "write -P 0x11 1M 128k", uri);
		// The server counts the client gone just after closing its socket, so just after
		// qemu-io has exited.
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertDisks(uri));
	}

	private void assertDisks(String uri) {
		assertThat(this.mvc.get().uri("/api/v1/disks").header("Authorization", "Bearer " + TestClients.TOKEN))
			.hasStatusOk()
			.bodyJson()
			.satisfies((json) -> {
				json.assertThat().extractingPath("$[0].name").isEqualTo("disk0");
				json.assertThat().extractingPath("$[0].size").asNumber().isEqualTo(1073741824);
				json.assertThat().extractingPath("$[0].allocatedBytes").asNumber().isEqualTo(131072);
				json.assertThat().extractingPath("$[0].exportUrl").isEqualTo(uri);
				json.assertThat().extractingPath("$[0].readOnly").isEqualTo(false);
				json.assertThat().extractingPath("$[0].clients").asNumber().isEqualTo(0);
				json.assertThat().extractingPath("$[0].counters.bytesWritten").asNumber().isEqualTo(131072);
				json.assertThat().extractingPath("$[0].counters.writes").asNumber().isEqualTo(1);
				json.assertThat().extractingPath("$[0].counters.errors").asNumber().isEqualTo(0);
			});
	}

	@Test
	void verifyIsRefusedUnlessThisNodeIsTheDisksRunningPrimary() {
		assertThat(
				this.mvc.post().uri("/api/v1/disks/nope/verify").header("Authorization", "Bearer " + TestClients.TOKEN))
			.hasStatus(404);
		assertThat(this.mvc.post()
			.uri("/api/v1/disks/disk0/verify")
			.header("Authorization", "Bearer " + TestClients.TOKEN)).hasStatus(409)
			.hasContentType("application/problem+json")
			.bodyJson()
			.satisfies((json) -> {
				json.assertThat().extractingPath("$.type").isEqualTo("urn:lockstep:problem:verify-refused");
				json.assertThat()
					.extractingPath("$.detail")
					.asString()
					.startsWith("Cannot verify disk 'disk0': it is not replicating")
					.contains("POST /api/v1/replication/start");
			});
		try {
			this.participant.start(ReplicationMode.SECONDARY);
			assertThat(this.mvc.post()
				.uri("/api/v1/disks/disk0/verify")
				.header("Authorization", "Bearer " + TestClients.TOKEN)
				.contentType(MediaType.APPLICATION_JSON)
				.content("{\"repair\":true}")).hasStatus(409)
				.bodyJson()
				.extractingPath("$.detail")
				.asString()
				.contains("this node is its secondary. Verify on the primary's node");
			this.participant.stop(true);
			assertThat(this.mvc.post()
				.uri("/api/v1/disks/disk0/verify")
				.header("Authorization", "Bearer " + TestClients.TOKEN)).hasStatus(409)
				.bodyJson()
				.extractingPath("$.detail")
				.asString()
				.contains("it failed over (as secondary) and is served alone");
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
		finally {
			try {
				this.participant.stop(false);
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
		}
		assertThat(this.mvc.get().uri("/api/v1/disks/disk0").header("Authorization", "Bearer " + TestClients.TOKEN))
			.bodyJson()
			.extractingPath("$.verify")
			.isNull();
	}

	@Test
	void disksNeedTheToken() {
		assertThat(this.mvc.get().uri("/api/v1/disks")).hasStatus(401);
	}

	@Test
	void unknownDiskIsNotFound() {
		assertThat(this.mvc.get().uri("/api/v1/disks/nope").header("Authorization", "Bearer " + TestClients.TOKEN))
			.hasStatus(404);
		assertThat(this.mvc.get().uri("/api/v1/disks/disk0").header("Authorization", "Bearer " + TestClients.TOKEN))
			.hasStatusOk()
			.bodyJson()
			.extractingPath("$.name")
			.isEqualTo("disk0");
	}

}
