package dev.usher.session.spring;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Base64;

/**
 * {@link AttributeCodec#javaSerialization}: base64 of the serialized bytes, read back through an
 * {@link ObjectInputFilter} built from an allow-list that must reject everything it does not name.
 */
final class JavaSerializationCodec implements AttributeCodec {
    private final String allowList;
    private final ObjectInputFilter filter;
    private final ClassLoader classLoader;

    JavaSerializationCodec(String allowList, ClassLoader classLoader) {
        String trimmed = allowList.strip();
        while (trimmed.endsWith(";")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1).strip();
        }
        if (trimmed.isEmpty() || !trimmed.endsWith("!*")) {
            throw new IllegalArgumentException("javaSerialization allowList must end with \"!*\" (reject every "
                    + "class not listed) but was \"" + allowList + "\"");
        }
        ObjectInputFilter patterns = ObjectInputFilter.Config.createFilter(trimmed);
        // A class the patterns leave undecided is refused too, so nothing gets in by omission.
        this.filter = info -> {
            ObjectInputFilter.Status status = patterns.checkInput(info);
            if (status == ObjectInputFilter.Status.UNDECIDED && info.serialClass() != null
                    && !info.serialClass().isPrimitive()
                    && !(info.serialClass().isArray() && leafComponent(info.serialClass()).isPrimitive())) {
                return ObjectInputFilter.Status.REJECTED;
            }
            return status;
        };
        this.allowList = trimmed;
        this.classLoader = classLoader;
    }

    private static Class<?> leafComponent(Class<?> type) {
        Class<?> c = type;
        while (c.isArray()) {
            c = c.getComponentType();
        }
        return c;
    }

    @Override
    public String tag() {
        return "java";
    }

    @Override
    public boolean accepts(Object value) {
        return value instanceof Serializable;
    }

    @Override
    public String encode(Object value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (NotSerializableException e) {
            throw new IllegalArgumentException("a " + value.getClass().getName() + " holds a field of the "
                    + "non-serializable " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    @Override
    public Object decode(String encoded) {
        byte[] bytes = Base64.getDecoder().decode(encoded);
        try (ObjectInputStream in = new LoaderObjectInputStream(new ByteArrayInputStream(bytes), classLoader)) {
            in.setObjectInputFilter(filter);
            return in.readObject();
        } catch (IOException e) {
            // InvalidClassException (the filter's refusal) lands here, with the class in its message.
            throw new IllegalArgumentException("Java deserialization refused or failed under allowList \""
                    + allowList + "\": " + e, e);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("class " + e.getMessage() + " is not on the class path", e);
        }
    }

    @Override
    public String toString() {
        return "AttributeCodec.javaSerialization(\"" + allowList + "\")";
    }

    private static final class LoaderObjectInputStream extends ObjectInputStream {
        private final ClassLoader loader;

        LoaderObjectInputStream(InputStream in, ClassLoader loader) throws IOException {
            super(in);
            this.loader = loader;
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            try {
                return Class.forName(desc.getName(), false, loader);
            } catch (ClassNotFoundException e) {
                return super.resolveClass(desc);
            }
        }
    }
}
