package dev.usher.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The reactor's POMs, read as files: {@code usher-bom} lists every published module of the reactor (a module
 * added later fails here until it is in the BOM), at the parent's version, and every artifact id says it is
 * Usher's.
 */
class BomTest {
    private static final Path ROOT = Path.of("..");

    @Test
    void theBomListsEveryPublishedModuleAtTheParentsVersion() throws Exception {
        Document parent = read(ROOT.resolve("pom.xml"));
        Document bom = read(ROOT.resolve("usher-bom/pom.xml"));
        assertThat(child(bom.getDocumentElement(), "version")).isEqualTo(child(parent.getDocumentElement(), "version"));

        List<String> published = new ArrayList<>();
        for (Element module : elements(parent.getDocumentElement(), "modules", "module")) {
            String dir = module.getTextContent().trim();
            if (dir.equals("usher-bom")) {
                continue;
            }
            Element project = read(ROOT.resolve(dir).resolve("pom.xml")).getDocumentElement();
            String artifactId = child(project, "artifactId");
            assertThat(artifactId).as(dir + "'s artifactId").startsWith("usher-");
            boolean skipped = elements(project, "properties", "usher.publish.skip").stream()
                    .anyMatch(e -> e.getTextContent().trim().equals("true"));
            if (!skipped) {
                published.add(artifactId);
            }
            if (Files.isDirectory(ROOT.resolve(dir).resolve("src/main/java"))) {
                assertThat(elements(project, "properties", "usher.moduleName")).as(dir + " sets usher.moduleName").hasSize(1);
            }
        }
        List<String> inBom = new ArrayList<>();
        for (Element dependency : elements(bom.getDocumentElement(), "dependencyManagement", "dependencies", "dependency")) {
            assertThat(child(dependency, "groupId")).isEqualTo("dev.usher");
            assertThat(child(dependency, "version")).isEqualTo("${project.version}");
            inBom.add(child(dependency, "artifactId"));
        }
        assertThat(published).contains("usher-session-core", "usher-workflow-gate");
        assertThat(inBom).containsAll(published);
        assertThat(published).containsAll(inBom);
        assertThat(inBom).doesNotContain("usher-examples", "usher-benchmarks");
    }

    private static Document read(Path pom) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return factory.newDocumentBuilder().parse(pom.toFile());
    }

    private static String child(Element parent, String name) {
        List<Element> found = elements(parent, name);
        assertThat(found).as("<" + name + "> in <" + parent.getTagName() + ">").hasSize(1);
        return found.get(0).getTextContent().trim();
    }

    /** Direct children along {@code path}, e.g. ("modules", "module"). */
    private static List<Element> elements(Element from, String... path) {
        List<Element> current = List.of(from);
        for (String name : path) {
            List<Element> next = new ArrayList<>();
            for (Element e : current) {
                NodeList children = e.getChildNodes();
                for (int i = 0; i < children.getLength(); i++) {
                    Node n = children.item(i);
                    if (n instanceof Element c && c.getTagName().equals(name)) {
                        next.add(c);
                    }
                }
            }
            current = next;
        }
        return current;
    }
}
