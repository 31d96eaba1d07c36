package dev.lockstep.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Objects;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import org.jspecify.annotations.Nullable;
import org.springdoc.core.customizers.OpenApiCustomizer;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.core.io.ClassPathResource;

/**
 * Completes the OpenAPI document of every API operation: adds the answers that the
 * filters in front of the API can give to any of them ({@code 406}, {@code 413},
 * {@code 415}), and gives every answer an example of what the service really sends, from
 * {@code openapi/examples.json}, instead of one generated from the schema.
 */
final class OpenApiExamples implements OpenApiCustomizer {

	private static final String EXAMPLES = "openapi/examples.json";

	private static final Map<String, String> FILTER_ANSWERS = Map.of("406",
			"The `Accept` header excludes application/json", "413",
			"The request body is over lockstep.security.max-request-body (64 KiB)", "415",
			"The body is not application/json, or the `Content-Type` is not a concrete media type");

	private final Map<String, Object> problems;

	private final Map<String, Map<String, Object>> operations;

	@SuppressWarnings("unchecked")
	OpenApiExamples() {
		Map<String, Object> examples = read();
		this.problems = (Map<String, Object>) Objects.requireNonNull(examples.get("problems"),
				EXAMPLES + " has no \"problems\"");
		this.operations = (Map<String, Map<String, Object>>) Objects.requireNonNull(examples.get("operations"),
				EXAMPLES + " has no \"operations\"");
	}

	@SuppressWarnings("unchecked")
	private static Map<String, Object> read() {
		try (InputStream in = new ClassPathResource(EXAMPLES).getInputStream()) {
			return JsonMapper.builder().build().readValue(in, Map.class);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot read " + EXAMPLES, ex);
		}
	}

	@Override
	public void customise(OpenAPI openApi) {
		openApi.getPaths()
			.entrySet()
			.stream()
			.filter((path) -> path.getKey().startsWith("/api/"))
			.map(Map.Entry::getValue)
			.flatMap((item) -> item.readOperations().stream())
			.forEach(this::complete);
	}

	private void complete(Operation operation) {
		ApiResponses responses = operation.getResponses();
		FILTER_ANSWERS.forEach((status, description) -> {
			if (!responses.containsKey(status)) {
				responses.addApiResponse(status, problem(description));
			}
		});
		Map<String, Object> examples = this.operations.getOrDefault(operation.getOperationId(), Map.of());
		responses.forEach((status, response) -> {
			Object example = examples.getOrDefault(status, this.problems.get(status));
			Content content = response.getContent();
			if (example != null && content != null) {
				content.values().forEach((media) -> media.setExample(example));
			}
		});
	}

	private static ApiResponse problem(String description) {
		MediaType media = new MediaType().schema(new Schema<>().$ref("#/components/schemas/Problem"));
		return new ApiResponse().description(description)
			.content(new Content().addMediaType(ApiProblems.PROBLEM_JSON, media));
	}

}
